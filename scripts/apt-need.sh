# Sourced by the scripts that install Debian packages (not run on its own):
#
#   source scripts/apt-need.sh
#   apt_need mmdebstrap arch-test      # installs those of them that are missing
#
# Installs only what `dpkg -s` does not find installed, with --no-install-recommends (so a
# script names every package it needs: a recommendation is not there on a fresh machine),
# after one `apt-get update` per run. Needs root or sudo. Says on stderr what it installs.
apt_need() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    echo "$(basename "$0"): installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "${_APT_NEED_UPDATED:-}" ]; then
        $sudo apt-get update -qq
        _APT_NEED_UPDATED=1
    fi
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
