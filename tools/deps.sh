#!/bin/sh
# Install the Debian packages a purpose needs, if any is missing:
#
#   tools/deps.sh [PURPOSE...]     PURPOSE: build (the default), lab, test,
#                                  fuzz, bench, scale, study, all
#
# Each Makefile target passes its own purposes (`make run`: build, `make
# test`: test, `make bench`: bench). Idempotent: when everything is present
# it prints nothing and runs no apt command at all. When apt or dpkg is busy
# (another apt-get, unattended-upgrades) it waits for the lock, at most
# DEPS_LOCK_WAIT seconds (default 300), instead of failing.
set -eu

# --- one list per purpose ---------------------------------------------------
# build: compile resolverd, resolverctl and the unit tests (`make`, `make run`);
# GnuTLS for DNS over TLS
BUILD_PKGS="build-essential pkg-config libuv1-dev libldns-dev libyaml-dev
libcmocka-dev libmicrohttpd-dev libgnutls28-dev"
# lab: the DNS lab (tools/lab: NSD, the scripted servers in Python, pgrep)
LAB_PKGS="nsd python3 python3-dnspython procps dnsutils"
# test: `make test` (format, lint, unit, ASan/UBSan, TSan, integration):
# clang-format, cppcheck and clang-tidy for the checks; dig and kdig, pytest,
# dnsperf (load tests), unbound (the bench smoke test), dnsmasq (the router
# tier), graphviz (trace --dot), ldns-read-zone (dumps); util-linux for
# setarch, unshare and runuser; bind9-dnsutils for delv (the validating
# client of test_dnssec.py) and faketime/libfaketime (its clock-step test);
# libfaketime also speeds the tier study's clock up;
# gnutls-bin (certtool, gnutls-cli) for the DNS over TLS tests (kdig +tls is
# knot-dnsutils'); dnsdist for the scale-out lab; gnuplot-nox (the bench
# smoke's latency plot); chromium and chromium-driver (the page, in a
# headless browser: test_page.py drives it over WebDriver)
TEST_PKGS="$BUILD_PKGS $LAB_PKGS clang-format cppcheck clang-tidy
knot-dnsutils ldnsutils python3-pytest dnsperf unbound dnsmasq-base graphviz
iproute2 util-linux prometheus systemd bind9-dnsutils faketime libfaketime
gnutls-bin dnsdist gnuplot-nox chromium chromium-driver"
# fuzz: libFuzzer targets (clang and its runtime)
FUZZ_PKGS="clang libclang-rt-14-dev"
# bench: `make bench` (tools/bench/run: dnsperf against resolverd and
# Unbound on the lab; callgrind and plots when present)
BENCH_PKGS="$BUILD_PKGS $LAB_PKGS dnsperf unbound valgrind gnuplot-nox"
# scale: `make lab-scale` (tools/lab/scale: resolverd instances behind
# dnsdist, and its bench with dnsperf)
SCALE_PKGS="$BUILD_PKGS $LAB_PKGS dnsdist dnsperf"
# study: `make tier-study` (tools/tierstudy: libfaketime speeds the daemon's
# clock up, matplotlib draws the plots)
STUDY_PKGS="$BUILD_PKGS $LAB_PKGS libfaketime python3-matplotlib"

[ $# -eq 0 ] && set -- build
PKGS=""
for purpose in "$@"; do
	case $purpose in
	build) PKGS="$PKGS $BUILD_PKGS" ;;
	lab) PKGS="$PKGS $BUILD_PKGS $LAB_PKGS" ;;
	test) PKGS="$PKGS $TEST_PKGS" ;;
	fuzz) PKGS="$PKGS $BUILD_PKGS $FUZZ_PKGS" ;;
	bench) PKGS="$PKGS $BENCH_PKGS" ;;
	scale) PKGS="$PKGS $SCALE_PKGS" ;;
	study) PKGS="$PKGS $STUDY_PKGS" ;;
	all) PKGS="$PKGS $TEST_PKGS $FUZZ_PKGS $BENCH_PKGS $SCALE_PKGS $STUDY_PKGS" ;;
	*)
		echo "deps: unknown purpose '$purpose' (build, lab, test, fuzz, bench, scale, study, all)" >&2
		exit 2
		;;
	esac
done

missing=""
for p in $(echo "$PKGS" | tr ' ' '\n' | sort -u); do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: not root; run as root or install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# apt-get, waiting while another apt or dpkg holds its lock: apt waits up to
# a minute by itself (DPkg::Lock::Timeout, the dpkg lock); a lock it does
# not wait for (the lists lock of `apt-get update`) or a longer wait is
# retried here, until DEPS_LOCK_WAIT seconds have passed.
WAIT=${DEPS_LOCK_WAIT:-300}
start=$(date +%s)
err=$(mktemp)
trap 'rm -f "$err"' EXIT
apt_wait() {
	said=""
	while :; do
		if timeout 1800 apt-get -o DPkg::Lock::Timeout=60 "$@" 2>"$err"; then
			cat "$err" >&2
			return 0
		fi
		if ! grep -qiE 'could not get lock|unable to acquire|lock.*(held|temporarily unavailable)' "$err"; then
			cat "$err" >&2
			return 1
		fi
		if [ $(($(date +%s) - start)) -ge "$WAIT" ]; then
			cat "$err" >&2
			echo "deps: apt/dpkg still busy after ${WAIT} s; giving up" >&2
			return 1
		fi
		if [ -z "$said" ]; then
			echo "deps: apt/dpkg is busy (another apt-get or unattended-upgrades);" \
			    "waiting for it, at most ${WAIT} s in all" >&2
			said=1
		fi
		sleep 5
	done
}

apt_wait update -q >/dev/null
# Packages such as nsd and unbound ship services; never let them start here
# (they would take port 53 on loopback away from the lab). A policy-rc.d
# already there is left as it is.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f "$err" /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
apt_wait install -y -q --no-install-recommends $missing
