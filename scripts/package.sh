#!/usr/bin/env bash
# Builds the self-contained binary and the Debian package: brender_VERSION_ARCH.deb in the
# current folder (or the folder given), with the binary, the systemd units, /etc/default files,
# the manual pages and the shell completions; installing it makes a `brender` system user.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-$PWD}"
swift build -c release --static-swift-stdlib --product brender >&2
binary=.build/release/brender
version=$("$binary" --version | awk '{print $2}')
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

install -D -m 0755 "$binary" "$stage/usr/bin/brender"
strip --strip-debug "$stage/usr/bin/brender"
install -D -m 0644 contrib/systemd/brender-server.service "$stage/usr/lib/systemd/system/brender-server.service"
install -D -m 0644 contrib/systemd/brender-worker.service "$stage/usr/lib/systemd/system/brender-worker.service"
install -D -m 0644 contrib/default/brender-server "$stage/etc/default/brender-server"
install -D -m 0644 contrib/default/brender-worker "$stage/etc/default/brender-worker"
for page in man/*.1; do
    install -D -m 0644 "$page" "$stage/usr/share/man/man1/$(basename "$page")"
    gzip -9n "$stage/usr/share/man/man1/$(basename "$page")"
done
install -D -m 0644 completions/brender.bash "$stage/usr/share/bash-completion/completions/brender"
install -D -m 0644 completions/_brender "$stage/usr/share/zsh/vendor-completions/_brender"
install -D -m 0644 completions/brender.fish "$stage/usr/share/fish/vendor_completions.d/brender.fish"
install -D -m 0644 README.md "$stage/usr/share/doc/brender/README.md"
# The Blender add-on, for artists to install in their Blender (Preferences > Add-ons).
install -D -m 0644 contrib/blender/brender_submit/__init__.py "$stage/usr/share/brender/blender/brender_submit/__init__.py"

mkdir -p "$stage/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: brender
Version: $version
Architecture: $arch
Maintainer: brender developers <brender@localhost>
Installed-Size: $size
Depends: libc6, libstdc++6, libgcc-s1, libsqlite3-0, passwd
Recommends: blender, ffmpeg
Section: graphics
Priority: optional
Description: render farm for Blender: server, worker and command line in one binary
 brender keeps a farm of render nodes busy with Blender animations: 'brender server' keeps the
 jobs in an embedded SQLite database behind an HTTP JSON API, 'brender worker' runs Blender on
 each node, and the admin commands drive the farm from any machine.
CONTROL
printf '/etc/default/brender-server\n/etc/default/brender-worker\n' > "$stage/DEBIAN/conffiles"
cat > "$stage/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    # The services' user; its home is the state directory systemd makes (StateDirectory=brender).
    if ! getent passwd brender >/dev/null; then
        useradd --system --user-group --home-dir /var/lib/brender --no-create-home --shell /usr/sbin/nologin \
            --comment "brender render farm" brender
    fi
    if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
fi
exit 0
SCRIPT
cat > "$stage/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl stop brender-worker.service brender-server.service || true
fi
exit 0
SCRIPT
cat > "$stage/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
exit 0
SCRIPT
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"
package="$out/brender_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$package" >&2
echo "$package"
