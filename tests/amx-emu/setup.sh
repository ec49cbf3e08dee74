#!/bin/sh
# tests/amx-emu/setup.sh WORKDIR - the emulator for run.sh (which says why each part is
# there): a Debian 13 tree with Bochs built from Debian's source, the signed byte products
# fixed, the guest kernel, and the module that turns on tile state. Cached in WORKDIR; a
# failure here (a download, a build) is the emulator's, not seek's: run.sh exits 3 for it.
set -eu
W=$1
R=$W/root
HERE=tests/amx-emu
mkdir -p "$W"
in_root() { chroot "$R" /bin/sh -c "$*"; }

# 1. the Debian 13 tree
if [ ! -x "$R/usr/bin/apt-get" ]; then
    command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
    debootstrap --variant=minbase trixie "$R" http://deb.debian.org/debian >"$W/debootstrap.log"
fi
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
if [ ! -f "$R/.seek-packages" ]; then
    in_root "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        bochsbios vgabios linux-image-amd64 linux-headers-amd64 gcc g++ make curl xz-utils \
        busybox-static isolinux syslinux-common xorriso cpio" >"$W/packages.log"
    touch "$R/.seek-packages"
fi

# 2. Bochs from Debian's source, with the signed byte products fixed
# Bochs's build options (a cached build with others is rebuilt). No show-ips: it prints from a
# SIGALRM handler with stdio, and twice in ~20 runs that came during the serial port's own
# stdio writes and Bochs waited on the stdio lock forever (a futex; the guest stopped).
opts="--enable-x86-64 --enable-cpu-level=6 --enable-avx --enable-evex --enable-amx --enable-vmx=2 \
--enable-protection-keys --enable-cet --enable-uintr --enable-pci --enable-cdrom --enable-monitor-mwait \
--enable-all-optimizations --disable-show-ips --with-nogui --without-x11 --without-x --disable-docbook"
if [ ! -x "$R/bochs/bochs" ] || [ "$(cat "$R/bochs/options" 2>/dev/null)" != "$opts" ]; then
    rm -rf "$R/bochs-src" && mkdir -p "$R/bochs-src"
    # the upstream tarball of the version Debian 13 packages (its .dsc is not on every mirror)
    ver=$(in_root "apt-cache show bochs" | sed -n 's/^Version: \(.*\)-[^-]*$/\1/p' | head -1)
    in_root "cd /bochs-src && curl -fsSL -o orig.tar.xz http://deb.debian.org/debian/pool/main/b/bochs/bochs_$ver.orig.tar.xz && \
        tar -xJf orig.tar.xz"
    src=$(cd "$R/bochs-src" && ls -d bochs-*/ | head -1)
    f="$R/bochs-src/$src/cpu/avx/amx.cc"
    n=$(grep -o 'Bit32s([xy]byte\[[0-3]\])' "$f" | wc -l)
    if [ "$n" = 16 ]; then
        sed -i 's/Bit32s(\([xy]\)byte\[\([0-3]\)\])/Bit32s(Bit8s(\1byte[\2]))/g' "$f"
    elif [ "$n" != 0 ] || ! grep -q 'Bit8s(xbyte\[0\])' "$f"; then   # 0 and signed: fixed upstream
        echo "setup.sh: expected 16 unsigned widenings of signed bytes in $f, found $n" >&2
        exit 1
    fi
    echo "building Bochs (~15 min on 2 cores; log $W/bochs-build.log)"
    in_root "cd /bochs-src/$src && ./configure $opts && make -j$(nproc)" >"$W/bochs-build.log" 2>&1
    mkdir -p "$R/bochs" && cp "$R/bochs-src/$src/bochs" "$R/bochs/bochs" && echo "$opts" >"$R/bochs/options"
fi

# 3. the module that turns on tile state, built for the guest kernel
kver=$(cd "$R/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V | tail -1)
if [ ! -f "$R/mod/xcr0amx.ko" ] || ! cmp -s $HERE/xcr0amx.c "$R/mod/xcr0amx.c"; then
    rm -rf "$R/mod" && mkdir -p "$R/mod"
    cp $HERE/xcr0amx.c "$R/mod/" && echo 'obj-m := xcr0amx.o' >"$R/mod/Makefile"
    in_root "make -C /usr/src/linux-headers-$kver M=/mod modules" >"$W/module.log" 2>&1
fi
