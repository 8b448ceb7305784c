/*
 * test_flight.c: the cross-worker table of questions in flight.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "resolver/flight.h"

static int woken[4];

static void
wake(void *arg)
{
	woken[(intptr_t)arg]++;
}

static const uint8_t www[] = "\003www\007example\003com";
static const uint8_t WWW[] = "\003WWW\007Example\003COM";

static void
claim_wait_release(void **state)
{
	(void)state;
	struct flights *f = flights_new();
	assert_non_null(f);
	int a = flights_register(f, wake, (void *)0);
	int b = flights_register(f, wake, (void *)1);
	int c = flights_register(f, wake, (void *)2);
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);

	assert_false(flights_busy(f, www, 1, 1));
	assert_int_equal(flights_claim(f, www, 1, 1, (unsigned)a), -1);
	assert_true(flights_busy(f, WWW, 1, 1)); /* any case */
	assert_int_equal(flights_claim(f, www, 1, 1, (unsigned)a), -1);
	/* b and c wait on a; another type is another question */
	assert_int_equal(flights_claim(f, WWW, 1, 1, (unsigned)b), a);
	assert_int_equal(flights_claim(f, www, 1, 1, (unsigned)c), a);
	assert_int_equal(flights_claim(f, www, 28, 1, (unsigned)b), -1);
	/* only the owner's release counts */
	flights_release(f, www, 1, 1, (unsigned)b);
	assert_true(flights_busy(f, www, 1, 1));
	assert_int_equal(woken[1] + woken[2], 0);
	flights_release(f, www, 1, 1, (unsigned)a);
	assert_false(flights_busy(f, www, 1, 1));
	assert_int_equal(woken[0], 0);
	assert_int_equal(woken[1], 1);
	assert_int_equal(woken[2], 1);
	/* an unregistered worker is not woken */
	assert_int_equal(flights_claim(f, www, 1, 1, (unsigned)a), -1);
	assert_int_equal(flights_claim(f, www, 1, 1, (unsigned)c), a);
	flights_unregister(f, c);
	flights_release(f, www, 1, 1, (unsigned)a);
	assert_int_equal(woken[2], 1);
	flights_release(f, www, 28, 1, (unsigned)b);
	flights_free(f);
	flights_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(claim_wait_release),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
