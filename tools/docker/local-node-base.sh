#!/usr/bin/env bash
# Builds a LOCAL STAND-IN for the Docker Hub image node:20-bookworm-slim (the Dockerfile's default
# NODE_IMAGE) and stores it in podman's image store as docker.io/library/node:20-bookworm-slim,
# for machines that can reach Debian's apt mirror and the npm registry but not Docker Hub (the
# image was verified this way, docs/operations.md "The Docker image"). Where Docker Hub answers, use
# the real image: do not run this.
#
# What it reproduces of the official image, and nothing else:
#   - Debian 12 (bookworm) minbase rootfs from deb.debian.org (debootstrap --variant=minbase), with
#     what Debian's own "slim" images configure: apt sources bookworm, bookworm-updates and
#     bookworm-security; dpkg leaves out documentation, man pages and translations (the copyright
#     files stay); no service starts during installs (policy-rc.d); apt keeps no .deb cache;
#   - Node 20: this machine's `node` binary (must be v20.x and link only glibc, libstdc++ and
#     libgcc_s, as Node's own and Debian's builds do), at /usr/local/bin/node as in the official image;
#   - npm 10 (the official Node 20 images ship npm 10.x) from the npm registry, at
#     /usr/local/lib/node_modules/npm with npm/npx links in /usr/local/bin;
#   - a `node` user and group with uid/gid 1000 and home /home/node (the Dockerfile's USER node);
#   - ENV PATH and CMD ["node"].
# Not reproduced: yarn, corepack, the official image's exact Node/npm patch versions and layers.
#
#   tools/docker/local-node-base.sh   # then .ci/docker-image, or podman build --format docker -t vidflow .
# Needs root, debootstrap, podman and npm (apt-get install debootstrap podman). Environment:
#   NPM_VERSION (default 10.8.2), BASE_TAG (default docker.io/library/node:20-bookworm-slim),
#   DEBIAN_MIRROR (default http://deb.debian.org/debian; security updates from its debian-security
#   sibling).
set -euo pipefail

npm_version="${NPM_VERSION:-10.8.2}"
base_tag="${BASE_TAG:-docker.io/library/node:20-bookworm-slim}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

node_bin="$(readlink -f "$(command -v node)")"
node_version="$("$node_bin" -v)"
case "$node_version" in
  v20.*) ;;
  *) echo "local-node-base: $node_bin is $node_version; expected Node v20.x" >&2; exit 1 ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

echo "local-node-base: debootstrap bookworm (minbase) from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }

echo "local-node-base: slim configuration (apt sources, dpkg excludes, policy-rc.d)"
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim-excludes" <<'EXCLUDES'
# Stand-in for the slim image: no documentation, man pages or translations (licences stay).
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EXCLUDES
find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/groff/* \
  "$rootfs"/usr/share/lintian/overrides/*
printf '#!/bin/sh\n# Installs in an image build start no services.\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
printf '%s\n' 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };' \
  'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";' >"$rootfs/etc/apt/apt.conf.d/docker-clean"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*

echo "local-node-base: node $node_version from $node_bin, npm $npm_version from the npm registry"
install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
(cd "$work" && npm pack "npm@$npm_version" --silent >/dev/null)
mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work/npm-$npm_version.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

echo "local-node-base: user node (uid/gid 1000)"
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

chroot "$rootfs" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin /bin/sh -c 'echo "local-node-base: node $(node -v), npm $(npm -v), $(id node)"'

echo "local-node-base: importing as $base_tag"
tar -C "$rootfs" -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change 'CMD ["node"]' \
  - "$base_tag" >/dev/null
podman images "$base_tag"
