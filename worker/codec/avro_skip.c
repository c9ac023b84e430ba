/*
 * avro_skip.c — the generic skipper of avro_skip.h.
 *
 * Compilation turns an avro-c schema into sr_skip_nodes. Each node knows the
 * least number of bytes a value of its type takes (min_size): array and map
 * blocks use it to reject item counts that could not fit in the bytes left, so
 * a 5-byte input cannot make us loop 2^62 times; a type whose values take no
 * bytes at all (null, fixed of size 0, records of those) is skipped without
 * looking at the count.
 */
#include "codec/avro_skip.h"

#include <inttypes.h>
#include <stdlib.h>

typedef enum skip_kind {
    SKIP_NOTHING, /* null */
    SKIP_VARINT,  /* int, long */
    SKIP_RAW,     /* boolean, float, double, fixed: `size` bytes */
    SKIP_BYTES,   /* string, bytes */
    SKIP_ENUM,    /* `size` symbols */
    SKIP_UNION,   /* children: branches */
    SKIP_RECORD,  /* children: fields */
    SKIP_ARRAY,   /* children[0]: items */
    SKIP_MAP,     /* children[0]: values */
} skip_kind;

struct sr_skip_node {
    skip_kind kind;
    size_t size;
    size_t min_size;
    size_t child_count;
    const sr_skip_node **children;
};

typedef struct named_node {
    avro_schema_t schema;
    sr_skip_node *node;
} named_node;

struct sr_skip_arena {
    sr_skip_node **nodes; /* every node, for freeing */
    size_t node_count, node_cap;
    named_node *named;    /* named types compiled so far: recursion ends here */
    size_t named_count, named_cap;
};

sr_status sr_skip_arena_new(sr_skip_arena **out, sr_error *err) {
    *out = calloc(1, sizeof **out);
    return *out ? SR_OK : sr_fail(err, SR_ERR_NOMEM, "out of memory compiling a schema");
}

void sr_skip_arena_free(sr_skip_arena *arena) {
    if (!arena) return;
    for (size_t i = 0; i < arena->node_count; i++) {
        free(arena->nodes[i]->children);
        free(arena->nodes[i]);
    }
    free(arena->nodes);
    free(arena->named);
    free(arena);
}

/* Grows *array (of elem-sized items) so that one more fits. */
static int grow(void *array, size_t *cap, size_t count, size_t elem) {
    if (count < *cap) return 1;
    size_t new_cap = *cap ? *cap * 2 : 16;
    void *p = realloc(*(void **)array, new_cap * elem);
    if (!p) return 0;
    *(void **)array = p;
    *cap = new_cap;
    return 1;
}

static sr_status new_node(sr_skip_arena *a, skip_kind kind, size_t children, sr_skip_node **out,
                          sr_error *err) {
    sr_skip_node *n = calloc(1, sizeof *n);
    if (n && children) n->children = calloc(children, sizeof *n->children);
    if (!n || (children && !n->children) ||
        !grow(&a->nodes, &a->node_cap, a->node_count, sizeof *a->nodes)) {
        if (n) free(n->children);
        free(n);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory compiling a schema");
    }
    a->nodes[a->node_count++] = n;
    n->kind = kind;
    n->child_count = children;
    *out = n;
    return SR_OK;
}

static sr_status remember_named(sr_skip_arena *a, avro_schema_t schema, sr_skip_node *node,
                                sr_error *err) {
    if (!grow(&a->named, &a->named_cap, a->named_count, sizeof *a->named))
        return sr_fail(err, SR_ERR_NOMEM, "out of memory compiling a schema");
    a->named[a->named_count++] = (named_node){schema, node};
    return SR_OK;
}

static sr_skip_node *find_named(const sr_skip_arena *a, avro_schema_t schema) {
    for (size_t i = 0; i < a->named_count; i++)
        if (a->named[i].schema == schema) return a->named[i].node;
    return NULL;
}

static size_t add_sat(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

static sr_status compile(sr_skip_arena *a, avro_schema_t schema, const sr_skip_node **out,
                         sr_error *err);

/* Records, unions, arrays and maps: compile each child schema. */
static sr_status compile_children(sr_skip_arena *a, avro_schema_t schema, sr_skip_node *n,
                                  sr_error *err) {
    for (size_t i = 0; i < n->child_count; i++) {
        avro_schema_t child;
        switch (n->kind) {
        case SKIP_RECORD: child = avro_schema_record_field_get_by_index(schema, (int)i); break;
        case SKIP_UNION: child = avro_schema_union_branch(schema, (int)i); break;
        case SKIP_ARRAY: child = avro_schema_array_items(schema); break;
        default: child = avro_schema_map_values(schema); break;
        }
        sr_status s = compile(a, child, &n->children[i], err);
        if (s != SR_OK) return s;
        if (n->kind == SKIP_RECORD) n->min_size = add_sat(n->min_size, n->children[i]->min_size);
    }
    return SR_OK;
}

static sr_status compile_composite(sr_skip_arena *a, avro_schema_t schema, skip_kind kind,
                                   size_t children, const sr_skip_node **out, sr_error *err) {
    sr_skip_node *n = NULL;
    sr_status s = new_node(a, kind, children, &n, err);
    if (s == SR_OK && kind == SKIP_RECORD) s = remember_named(a, schema, n, err);
    if (s != SR_OK) return s;
    /* Every value but a record's carries at least one varint. */
    n->min_size = kind == SKIP_RECORD ? 0 : 1;
    *out = n;
    return compile_children(a, schema, n, err);
}

static sr_status compile_leaf(sr_skip_arena *a, avro_schema_t schema, skip_kind kind, size_t size,
                              const sr_skip_node **out, sr_error *err) {
    sr_skip_node *n = NULL;
    sr_status s = new_node(a, kind, 0, &n, err);
    if (s == SR_OK && (kind == SKIP_ENUM || is_avro_fixed(schema))) s = remember_named(a, schema, n, err);
    if (s != SR_OK) return s;
    n->size = size;
    n->min_size = kind == SKIP_RAW ? size : kind == SKIP_NOTHING ? 0 : 1;
    *out = n;
    return SR_OK;
}

static sr_status compile(sr_skip_arena *a, avro_schema_t schema, const sr_skip_node **out,
                         sr_error *err) {
    if (is_avro_link(schema)) schema = avro_schema_link_target(schema);
    const sr_skip_node *known = find_named(a, schema);
    if (known) {
        *out = known;
        return SR_OK;
    }
    switch (avro_typeof(schema)) {
    case AVRO_NULL: return compile_leaf(a, schema, SKIP_NOTHING, 0, out, err);
    case AVRO_BOOLEAN: return compile_leaf(a, schema, SKIP_RAW, 1, out, err);
    case AVRO_INT32:
    case AVRO_INT64: return compile_leaf(a, schema, SKIP_VARINT, 0, out, err);
    case AVRO_FLOAT: return compile_leaf(a, schema, SKIP_RAW, 4, out, err);
    case AVRO_DOUBLE: return compile_leaf(a, schema, SKIP_RAW, 8, out, err);
    case AVRO_STRING:
    case AVRO_BYTES: return compile_leaf(a, schema, SKIP_BYTES, 0, out, err);
    case AVRO_FIXED: {
        int64_t size = avro_schema_fixed_size(schema);
        if (size < 0 || size > SR_AVRO_MAX_LENGTH)
            return sr_fail(err, SR_ERR_SCHEMA, "fixed %s has size %" PRId64, avro_schema_name(schema), size);
        return compile_leaf(a, schema, SKIP_RAW, (size_t)size, out, err);
    }
    case AVRO_ENUM:
        return compile_leaf(a, schema, SKIP_ENUM, (size_t)avro_schema_enum_number_of_symbols(schema), out, err);
    case AVRO_RECORD:
        return compile_composite(a, schema, SKIP_RECORD, avro_schema_record_size(schema), out, err);
    case AVRO_UNION:
        return compile_composite(a, schema, SKIP_UNION, avro_schema_union_size(schema), out, err);
    case AVRO_ARRAY: return compile_composite(a, schema, SKIP_ARRAY, 1, out, err);
    case AVRO_MAP: return compile_composite(a, schema, SKIP_MAP, 1, out, err);
    default: return sr_fail(err, SR_ERR_SCHEMA, "cannot skip values of type %s", avro_schema_type_name(schema));
    }
}

sr_status sr_skip_compile(sr_skip_arena *arena, avro_schema_t schema, const sr_skip_node **out,
                          sr_error *err) {
    return compile(arena, schema, out, err);
}

static sr_status skip(const sr_skip_node *n, sr_avro_reader *r, const char *what, int depth,
                      sr_error *err);

/* Array and map blocks: a count, then the items; a negative count is followed
 * by the block's size in bytes, which lets us jump over it; 0 ends. */
static sr_status skip_blocks(const sr_skip_node *n, sr_avro_reader *r, const char *what, int depth,
                             sr_error *err) {
    const sr_skip_node *item = n->children[0];
    size_t item_min = n->kind == SKIP_MAP ? add_sat(1, item->min_size) : item->min_size;
    for (;;) {
        sr_avro_reader at = *r;
        int64_t count, size;
        sr_status s = sr_avro_read_long(r, what, &count, err);
        if (s != SR_OK) return s;
        if (count == 0) return SR_OK;
        if (count < -SR_AVRO_MAX_LENGTH || count > SR_AVRO_MAX_LENGTH)
            return sr_avro_fail_length(&at, what, count, err);
        if (count < 0) {
            if ((s = sr_avro_read_length(r, what, &size, err)) != SR_OK) return s;
            if ((s = sr_avro_skip_raw(r, what, (size_t)size, err)) != SR_OK) return s;
            continue;
        }
        if (item_min == 0) continue; /* zero-byte items: nothing to read */
        if ((uint64_t)count > sr_avro_remaining(r) / item_min) return sr_avro_fail_truncated(&at, what, err);
        for (int64_t i = 0; i < count; i++) {
            const uint8_t *key;
            size_t key_len;
            if (n->kind == SKIP_MAP && (s = sr_avro_read_bytes(r, what, &key, &key_len, err)) != SR_OK)
                return s;
            if ((s = skip(item, r, what, depth + 1, err)) != SR_OK) return s;
        }
    }
}

static sr_status skip_union(const sr_skip_node *n, sr_avro_reader *r, const char *what, int depth,
                            sr_error *err) {
    sr_avro_reader at = *r;
    int64_t branch;
    sr_status s = sr_avro_read_long(r, what, &branch, err);
    if (s != SR_OK) return s;
    if (branch < 0 || (uint64_t)branch >= n->child_count)
        return sr_fail(err, SR_ERR_BAD_UNION, "%s: union branch %" PRId64 " at byte %zu is not in [0, %zu)",
                       what, branch, sr_avro_offset(&at), n->child_count);
    return skip(n->children[branch], r, what, depth + 1, err);
}

static sr_status skip_enum(const sr_skip_node *n, sr_avro_reader *r, const char *what, sr_error *err) {
    sr_avro_reader at = *r;
    int64_t index;
    sr_status s = sr_avro_read_long(r, what, &index, err);
    if (s != SR_OK) return s;
    if (index < 0 || (uint64_t)index >= n->size)
        return sr_fail(err, SR_ERR_BAD_ENUM, "%s: enum index %" PRId64 " at byte %zu is not in [0, %zu)",
                       what, index, sr_avro_offset(&at), n->size);
    return SR_OK;
}

static sr_status skip(const sr_skip_node *n, sr_avro_reader *r, const char *what, int depth,
                      sr_error *err) {
    if (depth > SR_AVRO_MAX_DEPTH)
        return sr_fail(err, SR_ERR_LIMIT, "%s: values nested deeper than %d at byte %zu", what,
                       SR_AVRO_MAX_DEPTH, sr_avro_offset(r));
    int64_t v;
    const uint8_t *data;
    size_t len;
    switch (n->kind) {
    case SKIP_NOTHING: return SR_OK;
    case SKIP_VARINT: return sr_avro_read_long(r, what, &v, err);
    case SKIP_RAW: return sr_avro_skip_raw(r, what, n->size, err);
    case SKIP_BYTES: return sr_avro_read_bytes(r, what, &data, &len, err);
    case SKIP_ENUM: return skip_enum(n, r, what, err);
    case SKIP_UNION: return skip_union(n, r, what, depth, err);
    case SKIP_RECORD:
        for (size_t i = 0; i < n->child_count; i++) {
            sr_status s = skip(n->children[i], r, what, depth + 1, err);
            if (s != SR_OK) return s;
        }
        return SR_OK;
    case SKIP_ARRAY:
    case SKIP_MAP: return skip_blocks(n, r, what, depth, err);
    }
    return sr_fail(err, SR_ERR_SCHEMA, "%s: corrupt skip plan", what);
}

sr_status sr_skip_value(const sr_skip_node *node, sr_avro_reader *r, const char *what, sr_error *err) {
    return skip(node, r, what, 0, err);
}
