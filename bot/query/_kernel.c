/* Candidate gathering of the subscription index in C (see bot/query/kernel.py).
 *
 * A post's candidates are the subscription ids found both in some list of `firsts` and in
 * some list of `seconds`, and in no list of `exclusions`; each list is a bytes object of
 * native int32 ids below `size`. Marks are epoch-stamped arrays owned by one Kernel, so a
 * call costs in the lists' lengths, not in `size`. A Kernel is not thread-safe: the index
 * that owns it is guarded by one lock.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    PyObject_HEAD
    uint32_t *seen;     /* seen[s] == epoch: in a first-group set of this post */
    uint32_t *dropped;  /* dropped[s] == epoch: excluded, or already output */
    Py_ssize_t size;
    uint32_t epoch;
} Kernel;

static int
kernel_reserve(Kernel *self, Py_ssize_t size)
{
    if (size <= self->size)
        return 0;
    Py_ssize_t n = size < 64 ? 64 : size;
    if (n < 2 * self->size)
        n = 2 * self->size;
    uint32_t *seen = PyMem_Calloc((size_t)n, sizeof(uint32_t));
    uint32_t *dropped = PyMem_Calloc((size_t)n, sizeof(uint32_t));
    if (seen == NULL || dropped == NULL) {
        PyMem_Free(seen);
        PyMem_Free(dropped);
        PyErr_NoMemory();
        return -1;
    }
    PyMem_Free(self->seen);
    PyMem_Free(self->dropped);
    self->seen = seen;
    self->dropped = dropped;
    self->size = n;
    self->epoch = 0;
    return 0;
}

static void
kernel_dealloc(Kernel *self)
{
    PyMem_Free(self->seen);
    PyMem_Free(self->dropped);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Each item of a list is a bytes object of native int32 ids below `size`. */
static int
check_list(PyObject *list, const char *name)
{
    if (!PyList_Check(list)) {
        PyErr_Format(PyExc_TypeError, "%s must be a list of bytes", name);
        return -1;
    }
    Py_ssize_t n = PyList_GET_SIZE(list);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyList_GET_ITEM(list, i);
        if (!PyBytes_Check(item) || PyBytes_GET_SIZE(item) % 4) {
            PyErr_Format(PyExc_TypeError, "%s items must be bytes of int32 ids", name);
            return -1;
        }
    }
    return 0;
}

/* The k-th int32 id of a bytes object (read byte-wise: bytes data need not be aligned). */
static inline int32_t
id_at(PyObject *item, Py_ssize_t k)
{
    int32_t id;
    memcpy(&id, PyBytes_AS_STRING(item) + 4 * k, sizeof id);
    return id;
}

/* marks[id] = epoch for every id below size in the lists. */
static void
stamp_all(PyObject *lists, uint32_t *marks, uint32_t epoch, Py_ssize_t size)
{
    for (Py_ssize_t i = 0, n = PyList_GET_SIZE(lists); i < n; i++) {
        PyObject *item = PyList_GET_ITEM(lists, i);
        for (Py_ssize_t k = 0, count = PyBytes_GET_SIZE(item) / 4; k < count; k++) {
            int32_t id = id_at(item, k);
            if (id >= 0 && id < size)
                marks[id] = epoch;
        }
    }
}

static PyObject *
kernel_candidates(Kernel *self, PyObject *args)
{
    PyObject *firsts, *seconds, *exclusions;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "OOOn", &firsts, &seconds, &exclusions, &size))
        return NULL;
    if (check_list(firsts, "firsts") || check_list(seconds, "seconds")
        || check_list(exclusions, "exclusions"))
        return NULL;
    if (size < 0) {
        PyErr_SetString(PyExc_ValueError, "size must not be negative");
        return NULL;
    }
    if (kernel_reserve(self, size) < 0)
        return NULL;
    if (++self->epoch == 0 && self->size > 0) {
        memset(self->seen, 0, (size_t)self->size * sizeof(uint32_t));
        memset(self->dropped, 0, (size_t)self->size * sizeof(uint32_t));
        self->epoch = 1;
    }
    const uint32_t epoch = self->epoch;
    stamp_all(exclusions, self->dropped, epoch, size);
    stamp_all(firsts, self->seen, epoch, size);
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    const uint32_t *seen = self->seen;
    uint32_t *dropped = self->dropped;
    for (Py_ssize_t i = 0, n = PyList_GET_SIZE(seconds); i < n; i++) {
        PyObject *item = PyList_GET_ITEM(seconds, i);
        for (Py_ssize_t k = 0, count = PyBytes_GET_SIZE(item) / 4; k < count; k++) {
            int32_t id = id_at(item, k);
            if (id < 0 || id >= size || seen[id] != epoch || dropped[id] == epoch)
                continue;
            dropped[id] = epoch;  /* output once */
            PyObject *value = PyLong_FromLong(id);
            if (value == NULL || PyList_Append(out, value) < 0) {
                Py_XDECREF(value);
                Py_DECREF(out);
                return NULL;
            }
            Py_DECREF(value);
        }
    }
    return out;
}

/* For tests: the stamp the next call increments (to reach the wrap-around). */
static PyObject *
kernel_set_epoch(Kernel *self, PyObject *arg)
{
    unsigned long value = PyLong_AsUnsignedLong(arg);
    if (value == (unsigned long)-1 && PyErr_Occurred())
        return NULL;
    if (value > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "the stamp must fit in 32 bits");
        return NULL;
    }
    /* marks of earlier stamps could equal a stamp still to come: clear them all */
    if (self->size > 0) {
        memset(self->seen, 0, (size_t)self->size * sizeof(uint32_t));
        memset(self->dropped, 0, (size_t)self->size * sizeof(uint32_t));
    }
    self->epoch = (uint32_t)value;
    Py_RETURN_NONE;
}

static PyMethodDef kernel_methods[] = {
    {"candidates", (PyCFunction)kernel_candidates, METH_VARARGS,
     "candidates(firsts, seconds, exclusions, size) -> list of ids in some first and some "
     "second list and in no exclusion list (each id once)."},
    {"_set_epoch", (PyCFunction)kernel_set_epoch, METH_O,
     "Set the stamp the next call increments (tests reach the wrap-around with it)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject KernelType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "bot.query._kernel.Kernel",
    .tp_basicsize = sizeof(Kernel),
    .tp_dealloc = (destructor)kernel_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Marks for one index's candidate gathering (not thread-safe).",
    .tp_methods = kernel_methods,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef kernel_module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "bot.query._kernel",
    .m_doc = "Candidate gathering of the subscription index in C.",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__kernel(void)
{
    if (PyType_Ready(&KernelType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&kernel_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "Kernel", (PyObject *)&KernelType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
