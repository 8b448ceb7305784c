/**
 * @file lru.h
 * An intrusive doubly linked LRU list (and the unlinking from a hash
 * chain), shared by the record cache and the infra cache: the entry type has
 * `prev` and `next` pointers, the holder `head` (most recently used) and `tail`
 * (least). Header only, no state.
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

/** Take entry @p e out of the singly linked hash chain whose head pointer
 *  is at @p headp (its link is `hnext`; @p e must be on the chain). */
#define CHAIN_UNLINK(headp, e)                \
	do {                                  \
		__typeof__(e) *pp_ = (headp); \
		while (*pp_ != (e))           \
			pp_ = &(*pp_)->hnext; \
		*pp_ = (e)->hnext;            \
	} while (0)

/** Walk @p h's list from the head: @p e each entry, @p next the one after
 *  it, read before the body runs, so that the body may unlink and free
 *  @p e. */
#define LRU_FOREACH_SAFE(h, e, next)                                  \
	for ((e) = (h)->head; (e) != NULL && ((next) = (e)->next, 1); \
	     (e) = (next))

/** Move entry @p e to the head of @p h's list (it was used). */
#define LRU_TOUCH(h, e)               \
	do {                          \
		LRU_UNLINK((h), (e)); \
		LRU_PUSH((h), (e));   \
	} while (0)

#endif
