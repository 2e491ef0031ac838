-- A chat's alerts still to be sent, found without reading its history of sent ones: the
-- claim query checks whether an earlier alert of the same chat is claimed or waits for a
-- retry (alerts of one chat go out in order).

CREATE INDEX outbox_chat_open ON outbox(chat_id, status, id);
