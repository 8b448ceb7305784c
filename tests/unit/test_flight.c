/*
 * test_flight.c: the join table of questions in flight: one owner, waiters
 * on any worker, a published result shared by all, references, caps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
owner_waiters_publish(void **state)
{
	struct flights *f = flights_new();
	struct flight *fa, *fb, *fc, *fd, *fe;
	struct flight_key k = {www, 1, 1, 0}, K = {WWW, 1, 1, 0};
	struct flight_key aaaa = {www, 28, 1, 0}, cd = {www, 1, 1, FLIGHT_CD};

	(void)state;
	memset(woken, 0, sizeof(woken));
	assert_non_null(f);
	int a = flights_register(f, wake, (void *)0);
	int b = flights_register(f, wake, (void *)1);
	int c = flights_register(f, wake, (void *)2);
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);

	assert_int_equal(
	    flights_join(f, &k, (unsigned)a, 1, &fa), FLIGHT_OWNER);
	assert_int_equal(flights_count(f), 1);
	/* any case joins; another type or CD is another question */
	assert_int_equal(
	    flights_join(f, &K, (unsigned)b, 1, &fb), FLIGHT_WAITER);
	assert_ptr_equal(fb, fa);
	assert_int_equal(
	    flights_join(f, &k, (unsigned)c, 1, &fc), FLIGHT_WAITER);
	assert_int_equal(
	    flights_join(f, &aaaa, (unsigned)b, 1, &fd), FLIGHT_OWNER);
	assert_ptr_not_equal(fd, fa);
	assert_int_equal(
	    flights_join(f, &cd, (unsigned)a, 1, &fe), FLIGHT_OWNER);
	assert_int_equal(flights_count(f), 3);
	assert_null(flight_result(fa));

	/* the local slot is the worker's own */
	*flight_local(fa, (unsigned)b) = (void *)&woken;
	assert_ptr_equal(*flight_local(fa, (unsigned)b), (void *)&woken);
	assert_null(*flight_local(fa, (unsigned)c));

	/* publishing wakes the waiting workers, not the owner, and takes the
	 * flight out of the table: the next join owns a new one */
	struct iter_result *res = iter_result_failure("test result");
	flights_publish(f, fa, res);
	assert_int_equal(woken[0], 0);
	assert_int_equal(woken[1], 1);
	assert_int_equal(woken[2], 1);
	assert_ptr_equal(flight_result(fa), res);
	assert_string_equal(flight_result(fb)->reason, "test result");
	assert_int_equal(flights_count(f), 2);
	struct flight *fn;
	assert_int_equal(
	    flights_join(f, &k, (unsigned)c, 1, &fn), FLIGHT_OWNER);
	assert_ptr_not_equal(fn, fa);

	/* references: the result lives until the last release */
	flights_release(f, fa);
	flights_release(f, fb);
	assert_string_equal(flight_result(fc)->reason, "test result");
	flights_release(f, fc);

	/* an unregistered worker is not woken */
	struct flight *fw;
	assert_int_equal(
	    flights_join(f, &k, (unsigned)a, 1, &fw), FLIGHT_WAITER);
	flights_unregister(f, a);
	flights_publish(f, fn, iter_result_failure("second"));
	assert_int_equal(woken[0], 0);
	flights_release(f, fw);
	flights_release(f, fn);

	/* an owner that releases without publishing takes the flight out of
	 * the table (nobody may join a flight nobody resolves) */
	flights_release(f, fd);
	flights_release(f, fe);
	assert_int_equal(flights_count(f), 0);
	flights_free(f);
	flights_free(NULL);
}

static void
caps(void **state)
{
	struct flights *f = flights_new();
	struct flight_key k = {www, 1, 1, 0};
	struct flight *fl, *x;

	(void)state;
	int a = flights_register(f, wake, (void *)0);
	int b = flights_register(f, wake, (void *)1);
	assert_int_equal(flights_join(f, &k, (unsigned)a, LIM_WAITERS - 1, &fl),
	    FLIGHT_OWNER);
	assert_true(flights_add_clients(f, fl, 1));
	assert_false(flights_add_clients(f, fl, 1));
	assert_int_equal(flights_join(f, &k, (unsigned)b, 1, &x), FLIGHT_FULL);
	flights_hold(f, fl);
	flights_publish(f, fl, iter_result_failure("x"));
	flights_release(f, fl);
	flights_release(f, fl);
	/* a worker index past the table is refused */
	assert_int_equal(
	    flights_join(f, &k, FLIGHT_MAX_WORKERS, 1, &x), FLIGHT_FULL);
	flights_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(owner_waiters_publish),
	    cmocka_unit_test(caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
