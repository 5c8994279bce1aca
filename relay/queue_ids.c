/* SPDX-License-Identifier: MIT */
/*
 * queue_ids - a set of queue ids with an in-flight flag, on tsearch(3).
 *
 * Each element starts with its id, so a plain id string is the key for tfind and tdelete:
 * compare() reads both sides as strings.
 */
#include "queue_ids.h"

#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "spool.h"

struct queue_id {
        char id[SPOOL_QUEUE_ID_MAX + 1]; /* first: a pointer to the element is one to its id */
        bool in_flight;
};

static int compare(const void *a, const void *b)
{
        return strcmp((const char *)a, (const char *)b);
}

/* find - the element for id, or NULL */
static struct queue_id *find(const struct queue_ids *s, const char *id)
{
        void *const *node = tfind(id, &s->root, compare);

        return node ? *(struct queue_id *const *)node : NULL;
}

int queue_ids_add(struct queue_ids *s, const char *id)
{
        size_t len = strlen(id);
        struct queue_id *e, *const *node;

        if (len > SPOOL_QUEUE_ID_MAX)
                return -EINVAL;
        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        memcpy(e->id, id, len + 1);
        node = tsearch(e, &s->root, compare);
        if (!node) {
                free(e);
                return -ENOMEM;
        }
        if (*node != e) {
                free(e);
                return 0;
        }
        s->n++;
        return 1;
}

void queue_ids_set_in_flight(struct queue_ids *s, const char *id, bool in_flight)
{
        struct queue_id *e = find(s, id);

        if (e)
                e->in_flight = in_flight;
}

bool queue_ids_in_flight(const struct queue_ids *s, const char *id)
{
        const struct queue_id *e = find(s, id);

        return e && e->in_flight;
}

bool queue_ids_contains(const struct queue_ids *s, const char *id)
{
        return find(s, id) != NULL;
}

void queue_ids_remove(struct queue_ids *s, const char *id)
{
        struct queue_id *e = find(s, id);

        if (!e)
                return;
        (void)tdelete(id, &s->root, compare);
        free(e);
        s->n--;
}

void queue_ids_clear(struct queue_ids *s)
{
        tdestroy(s->root, free);
        *s = (struct queue_ids){0};
}
