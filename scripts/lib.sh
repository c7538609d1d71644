# Shared by scripts/demo and scripts/test: idempotent installs for a Debian machine (root).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${DOCKYARD_VENV:-$PWD/.venv}"

# Install Debian packages that are missing; a no-op (and no network) when all are present.
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "installing Debian packages: ${missing[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
}

# Create the venv and install the package (with the given extras) when pyproject changed.
venv_install() {
    local extras="$1" stamp="$VENV/.installed$1"
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
    fi
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        "$VENV/bin/pip" install -q --disable-pip-version-check -e ".$extras"
        touch "$stamp"
    fi
    # The fast launcher over pip's console script (no site on the client's start):
    # see src/dockyard/cli/warm/launcher.py. Cheap, so written every time.
    "$VENV/bin/python" -m dockyard.cli.warm.launcher "$VENV/bin/dockyard" >/dev/null
}

# What Dockyard itself needs at run time.
SYSTEM_PACKAGES=(python3 python3-venv python3-dev gcc libseccomp2 busybox-static runc
                 iproute2 nftables util-linux procps ca-certificates)
# What the tests also need: the reference systems they compare against, and tools.
TEST_PACKAGES=(docker.io runc crun podman skopeo umoci containerd docker-registry
               buildah hyperfine tmux iptables strace oci-image-tool apache2-utils)

# The demo's container: its output is made inside it (its hostname is the container's
# short id; it sees itself as pid 1).
demo_run() {
    "$VENV/bin/dockyard" run --rm busybox sh -c \
        'echo "hello from a Dockyard container $(hostname), I am pid $$"'
}
