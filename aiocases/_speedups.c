/* aiocases._speedups: the timeline cell fast path of aiocases.models, in C.
 *
 * It does what models._cell_fast does, rule for rule: take a cell of the
 * shape real responses have and build its models, or return None for any
 * other shape (the generated cattrs path then handles it, and names what is
 * wrong).  Two things only C can do make it worth having:
 *
 *   - it fills the frozen models' slots directly (PyMember_SetOne), with no
 *     Python frame per object;
 *   - it takes the three new objects of each cell (TimelineCell,
 *     CellAttributes, CellContent) off the cyclic garbage collector's lists.
 *     They are immutable values that hold strings, datetimes, shared authors
 *     and read-only mappings, so they can never be part of a reference
 *     cycle; untracked, the collections an export triggers no longer walk
 *     every cell held in memory (as CPython does for tuples of atoms).
 *
 * Everything about the models comes from Python (models._configure_speedups):
 * the classes, their field names in attrs order, and the callables for the
 * parts kept in Python (timestamps, the shared authors).  Pure Python is used
 * when this module is not built (no compiler) or AIOCASES_NO_EXTENSIONS is set.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h> /* PyMemberDef, PyMember_SetOne before Python 3.12 */

#define CELL_FIELDS 4       /* id, type, attributes, extra */
#define ATTRIBUTE_FIELDS 8  /* author, cell_content, content, created_at, modified_at, deleted_at, type, extra */
#define CONTENT_FIELDS 2    /* message, extra */

typedef struct {
    PyTypeObject *cell_type, *attributes_type, *content_type, *author_type, *datetime_type;
    PyMemberDef *cell_members[CELL_FIELDS];
    PyMemberDef *attribute_members[ATTRIBUTE_FIELDS];
    PyMemberDef *content_members[CONTENT_FIELDS];
    PyObject *cell_keys[CELL_FIELDS - 1];           /* the JSON keys: "id", "type", "attributes" */
    PyObject *attribute_keys[ATTRIBUTE_FIELDS - 1]; /* "author", ..., "type" */
    PyObject *message_key;
    PyObject *empty;             /* the shared empty ``extra`` mapping */
    PyObject *from_api_shape;    /* timestamps shaped as the API sends them */
    PyObject *parse_timestamp;   /* any other created_at */
    PyObject *structure_timestamp;  /* modified_at, deleted_at */
    PyObject *structure_author;  /* the interning author hook */
    int configured;
} State;

static State state;

static int
members_of(PyTypeObject *type, PyObject *names, PyMemberDef **members, Py_ssize_t count)
{
    if (!PyTuple_Check(names) || PyTuple_GET_SIZE(names) != count) {
        PyErr_Format(PyExc_TypeError, "%s: expected %zd fields, the C fast path knows no other layout",
                     type->tp_name, count);
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *descr = PyDict_GetItemWithError(type->tp_dict, PyTuple_GET_ITEM(names, i));
        if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_TypeError, "%s.%U is not a slot", type->tp_name, PyTuple_GET_ITEM(names, i));
            }
            return -1;
        }
        members[i] = ((PyMemberDescrObject *)descr)->d_member;
    }
    return 0;
}

static void
keys_of(PyObject *names, PyObject **keys, Py_ssize_t count)
{
    /* The listed fields (all but the last, ``extra``) are the JSON keys. */
    for (Py_ssize_t i = 0; i < count; i++) {
        keys[i] = Py_NewRef(PyTuple_GET_ITEM(names, i));
    }
}

static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyObject *cell_type, *attributes_type, *content_type, *author_type, *datetime_type;
    PyObject *cell_names, *attribute_names, *content_names;
    PyObject *empty, *from_api_shape, *parse_timestamp, *structure_timestamp, *structure_author;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!O!O!O!OOOOO:configure",
                          &PyType_Type, &cell_type, &PyType_Type, &attributes_type, &PyType_Type, &content_type,
                          &PyType_Type, &author_type, &PyType_Type, &datetime_type,
                          &PyTuple_Type, &cell_names, &PyTuple_Type, &attribute_names, &PyTuple_Type, &content_names,
                          &empty, &from_api_shape, &parse_timestamp, &structure_timestamp, &structure_author)) {
        return NULL;
    }
    if (state.configured) {
        PyErr_SetString(PyExc_RuntimeError, "aiocases._speedups is configured once, by aiocases.models");
        return NULL;
    }
    if (members_of((PyTypeObject *)cell_type, cell_names, state.cell_members, CELL_FIELDS) < 0
        || members_of((PyTypeObject *)attributes_type, attribute_names, state.attribute_members, ATTRIBUTE_FIELDS) < 0
        || members_of((PyTypeObject *)content_type, content_names, state.content_members, CONTENT_FIELDS) < 0) {
        return NULL;
    }
    keys_of(cell_names, state.cell_keys, CELL_FIELDS - 1);
    keys_of(attribute_names, state.attribute_keys, ATTRIBUTE_FIELDS - 1);
    state.message_key = Py_NewRef(PyTuple_GET_ITEM(content_names, 0));
    state.cell_type = (PyTypeObject *)Py_NewRef(cell_type);
    state.attributes_type = (PyTypeObject *)Py_NewRef(attributes_type);
    state.content_type = (PyTypeObject *)Py_NewRef(content_type);
    state.author_type = (PyTypeObject *)Py_NewRef(author_type);
    state.datetime_type = (PyTypeObject *)Py_NewRef(datetime_type);
    state.empty = Py_NewRef(empty);
    state.from_api_shape = Py_NewRef(from_api_shape);
    state.parse_timestamp = Py_NewRef(parse_timestamp);
    state.structure_timestamp = Py_NewRef(structure_timestamp);
    state.structure_author = Py_NewRef(structure_author);
    state.configured = 1;
    Py_RETURN_NONE;
}

/* A new untracked instance of ``type`` with ``values`` in its slots (each borrowed). */
static PyObject *
build(PyTypeObject *type, PyMemberDef **members, PyObject **values, Py_ssize_t count)
{
    PyObject *obj = type->tp_alloc(type, 0);
    if (obj == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (PyMember_SetOne((char *)obj, members[i], values[i]) < 0) {
            Py_DECREF(obj);
            return NULL;
        }
    }
    PyObject_GC_UnTrack(obj);
    return obj;
}

/* Get ``key`` of ``dict`` (borrowed; Py_None when absent); NULL on error. */
static PyObject *
get(PyObject *dict, PyObject *key)
{
    PyObject *value = PyDict_GetItemWithError(dict, key);
    if (value == NULL && !PyErr_Occurred()) {
        return Py_None;
    }
    return value;
}

static int
is_api_shape(PyObject *text)
{
    /* 2025-12-30T13:49:46.968106806Z: the shape every real response uses. */
    return PyUnicode_GET_LENGTH(text) == 30 && PyUnicode_READ_CHAR(text, 29) == 'Z'
           && PyUnicode_READ_CHAR(text, 19) == '.';
}

/* The datetime of a timestamp (a new reference), or NULL: with an error set
 * for a real failure, with none for a value the fast path does not take. */
static PyObject *
timestamp(PyObject *value, int created)
{
    PyObject *result;
    if (created) {
        result = NULL;
        if (is_api_shape(value)) {
            result = PyObject_CallOneArg(state.from_api_shape, value);
            if (result == NULL && PyErr_ExceptionMatches(PyExc_ValueError)) {
                PyErr_Clear();
            }
        }
        if (result == NULL && !PyErr_Occurred()) {
            result = PyObject_CallOneArg(state.parse_timestamp, value);
        }
    }
    else {
        result = PyObject_CallFunctionObjArgs(state.structure_timestamp, value, state.datetime_type, NULL);
    }
    if (result == NULL && (PyErr_ExceptionMatches(PyExc_ValueError) || PyErr_ExceptionMatches(PyExc_TypeError))) {
        PyErr_Clear();  /* the generated path names the culprit */
    }
    return result;
}

/* 1: ``*out`` is the datetime of ``raw`` (a new reference; NULL when ``raw``
 * is None); 0: a value the fast path does not take; -1: an error. */
static int
timestamp_of(PyObject *raw, int created, PyObject **out)
{
    *out = NULL;
    if (raw == Py_None) {
        return 1;
    }
    *out = timestamp(raw, created);
    if (*out != NULL) {
        return 1;
    }
    return PyErr_Occurred() ? -1 : 0;
}

/* The unlisted members of ``attributes`` as a read-only mapping (new reference). */
static PyObject *
unlisted(PyObject *attributes)
{
    PyObject *found = PyDict_New();
    if (found == NULL) {
        return NULL;
    }
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(attributes, &pos, &key, &value)) {
        int listed = 0;
        for (Py_ssize_t i = 0; i < ATTRIBUTE_FIELDS - 1; i++) {
            int equal = PyObject_RichCompareBool(key, state.attribute_keys[i], Py_EQ);
            if (equal < 0) {
                Py_DECREF(found);
                return NULL;
            }
            if (equal) {
                listed = 1;
                break;
            }
        }
        if (!listed && PyDict_SetItem(found, key, value) < 0) {
            Py_DECREF(found);
            return NULL;
        }
    }
    if (PyDict_GET_SIZE(found) == 0) {
        Py_DECREF(found);
        return Py_NewRef(state.empty);
    }
    PyObject *proxy = PyDictProxy_New(found);
    Py_DECREF(found);
    return proxy;
}

#define UNLESS(condition) if (!(condition)) { result = Py_NewRef(Py_None); goto done; }
#define CHECK(value) if ((value) == NULL) { goto done; }

static PyObject *
cell_fast(PyObject *module, PyObject *raw)
{
    if (!state.configured) {
        PyErr_SetString(PyExc_RuntimeError, "aiocases._speedups is not configured");
        return NULL;
    }
    PyObject *result = NULL;
    PyObject *content = NULL, *created = NULL, *modified = NULL, *deleted = NULL, *extra = NULL, *author = NULL;
    PyObject *attributes_obj = NULL;
    PyObject *cell_id, *cell_type, *attributes, *values[ATTRIBUTE_FIELDS];

    UNLESS(PyDict_CheckExact(raw) && PyDict_GET_SIZE(raw) == 3);
    CHECK(cell_id = get(raw, state.cell_keys[0]));
    CHECK(cell_type = get(raw, state.cell_keys[1]));
    CHECK(attributes = get(raw, state.cell_keys[2]));
    UNLESS(PyUnicode_CheckExact(cell_id) && PyUnicode_CheckExact(cell_type) && PyDict_CheckExact(attributes));

    PyObject *raw_author, *raw_content, *text, *raw_created, *raw_modified, *raw_deleted, *kind;
    CHECK(raw_author = get(attributes, state.attribute_keys[0]));
    CHECK(raw_content = get(attributes, state.attribute_keys[1]));
    CHECK(text = get(attributes, state.attribute_keys[2]));
    CHECK(raw_created = get(attributes, state.attribute_keys[3]));
    CHECK(raw_modified = get(attributes, state.attribute_keys[4]));
    CHECK(raw_deleted = get(attributes, state.attribute_keys[5]));
    CHECK(kind = get(attributes, state.attribute_keys[6]));
    UNLESS(raw_author == Py_None || PyDict_CheckExact(raw_author));
    UNLESS(kind == Py_None || PyUnicode_CheckExact(kind));
    UNLESS(text == Py_None || PyUnicode_CheckExact(text));
    UNLESS(raw_created == Py_None || PyUnicode_CheckExact(raw_created));

    Py_ssize_t given = (raw_author != Py_None) + (raw_content != Py_None) + (text != Py_None) + (kind != Py_None)
                       + (raw_created != Py_None) + (raw_modified != Py_None) + (raw_deleted != Py_None);

    if (raw_content != Py_None) {
        /* Exactly {"message": ...}; any other key takes the generated path. */
        UNLESS(PyDict_CheckExact(raw_content) && PyDict_GET_SIZE(raw_content) == 1);
        PyObject *message = PyDict_GetItemWithError(raw_content, state.message_key);
        if (message == NULL && PyErr_Occurred()) {
            goto done;
        }
        UNLESS(message != NULL && (message == Py_None || PyUnicode_CheckExact(message)));
        PyObject *content_values[CONTENT_FIELDS] = {message, state.empty};
        CHECK(content = build(state.content_type, state.content_members, content_values, CONTENT_FIELDS));
    }
    int taken;
    if ((taken = timestamp_of(raw_created, 1, &created)) < 1 || (taken = timestamp_of(raw_modified, 0, &modified)) < 1
        || (taken = timestamp_of(raw_deleted, 0, &deleted)) < 1) {
        if (taken == 0) {
            result = Py_NewRef(Py_None);
        }
        goto done;
    }
    if (PyDict_GET_SIZE(attributes) != given) {  /* an unlisted key, or a listed one that is null */
        CHECK(extra = unlisted(attributes));
    }
    else {
        extra = Py_NewRef(state.empty);
    }
    if (raw_author != Py_None) {
        CHECK(author = PyObject_CallFunctionObjArgs(state.structure_author, raw_author, state.author_type, NULL));
    }
    values[0] = author ? author : Py_None;
    values[1] = content ? content : Py_None;
    values[2] = text;
    values[3] = created ? created : Py_None;
    values[4] = modified ? modified : Py_None;
    values[5] = deleted ? deleted : Py_None;
    values[6] = kind;
    values[7] = extra;
    CHECK(attributes_obj = build(state.attributes_type, state.attribute_members, values, ATTRIBUTE_FIELDS));
    PyObject *cell_values[CELL_FIELDS] = {cell_id, cell_type, attributes_obj, state.empty};
    result = build(state.cell_type, state.cell_members, cell_values, CELL_FIELDS);

done:
    Py_XDECREF(content);
    Py_XDECREF(created);
    Py_XDECREF(modified);
    Py_XDECREF(deleted);
    Py_XDECREF(extra);
    Py_XDECREF(author);
    Py_XDECREF(attributes_obj);
    return result;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(cell, attributes, content, author, datetime, cell_fields, attribute_fields, content_fields,"
     " empty, from_api_shape, parse_timestamp, structure_timestamp, structure_author): set up, once."},
    {"cell_fast", cell_fast, METH_O,
     "cell_fast(raw): the TimelineCell of a cell of the shape real responses have, else None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "aiocases._speedups", "The timeline cell fast path of aiocases.models, in C.", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module);
}
