#!/bin/sh
# Install the Debian packages resolverd builds and tests with, if any is missing.
# Idempotent: when everything is present it runs no apt command at all.
set -eu
PKGS="build-essential pkg-config libuv1-dev libldns-dev libyaml-dev libcmocka-dev
clang clang-format libclang-rt-14-dev nsd dnsutils knot-dnsutils ldnsutils python3 python3-dnspython python3-pytest
dnsperf unbound valgrind gnuplot-nox dnsmasq-base graphviz iproute2 procps util-linux"
missing=""
for p in $PKGS; do
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
apt-get update -q >/dev/null || apt-get update
# Packages such as nsd and unbound ship services; never let them start here
# (they would take port 53 on loopback away from the lab).
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
