/**
 * @file lru.h
 * An intrusive doubly linked LRU list, shared by the record cache and the
 * infra cache: the entry type has `prev` and `next` pointers, the holder
 * `head` (most recently used) and `tail` (least). Header only, no state.
 */
#ifndef RESOLVERD_LRU_H
#define RESOLVERD_LRU_H

/** Take entry @p e out of holder @p h's list. */
#define LRU_UNLINK(h, e)                             \
	do {                                         \
		if ((e)->prev)                       \
			(e)->prev->next = (e)->next; \
		else                                 \
			(h)->head = (e)->next;       \
		if ((e)->next)                       \
			(e)->next->prev = (e)->prev; \
		else                                 \
			(h)->tail = (e)->prev;       \
	} while (0)

/** Put entry @p e at the head (most recently used) of @p h's list. */
#define LRU_PUSH(h, e)                         \
	do {                                   \
		(e)->prev = NULL;              \
		(e)->next = (h)->head;         \
		if ((h)->head)                 \
			(h)->head->prev = (e); \
		else                           \
			(h)->tail = (e);       \
		(h)->head = (e);               \
	} while (0)

#endif
