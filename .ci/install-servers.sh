#!/usr/bin/env bash
# Install the directory servers the real-server tests start (tests/servers/):
# OpenLDAP slapd, Samba AD DC and 389 Directory Server, from Debian's packages;
# also python3-venv (the README's virtual environment) and what tests/deploy runs
# (logrotate, git).
#
# Non-interactive, starts no system service, and quick when everything is
# already installed (no apt-get at all then). Run as root. Independent of the
# rest of .ci/: .ci/run may call it, so may a developer.
set -euo pipefail

packages=(
    slapd ldap-utils                                   # OpenLDAP
    samba-ad-dc samba-ad-provision krb5-user smbclient ldb-tools  # Samba AD DC (+ kinit, ldbmodify)
    389-ds-base                                        # 389 Directory Server
    python3-venv                                       # the README's `python3 -m venv .venv` (.ci/run)
    logrotate git                                      # tests/deploy: the logrotate snippet, the upgrade steps
    chromium chromium-driver fonts-liberation          # tests/web/browser: the console in headless Chromium (issue 13)
)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-servers: all present (${packages[*]})"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-servers: missing ${missing[*]}; run as root to install them" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# The tests start their own private servers; the packages must not start system ones
# (a system slapd or samba would also take ports the tests use, such as 127.0.0.2:389).
mkdir -p /etc/ldap
touch /etc/ldap/noslapd
created_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# added by .ci/install-servers.sh while installing: start no services\nexit 101\n' \
        > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=yes
fi
cleanup() { if [ -n "$created_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

# krb5-user asks for a default realm; answer it up front so nothing waits for a human.
echo "krb5-config krb5-config/default_realm string SCHOOL.TEST" | debconf-set-selections
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections

echo "install-servers: installing ${missing[*]}"
apt-get update -q
apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
echo "install-servers: done"
