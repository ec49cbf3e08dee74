#!/bin/sh
# tests/amx-emu/run.sh - the AMX tile tests on the tile instructions, for machines without AMX.
#
# test_kernels' amx_prefill_gives_the_plain_bits and test_kernels_k's
# amx_kquant_prefill_gives_the_plain_bits run the tile kernels on the instructions' C twins
# everywhere, and on the instructions themselves only where the CPU has AMX. This script gives
# them such a CPU: Bochs emulating a Sapphire Rapids, booting Debian's kernel with the two
# test programs and seek as its only work. Not part of `make test`: it needs root (debootstrap,
# chroot), downloads ~400 MB of Debian 13 packages and takes ~15 minutes the first time
# (building Bochs), ~4 after. It passes when both tests pass on the tile instructions and a
# 40-token prompt's logits with the tiles (which must run) equal those without (init).
# Speed under an emulator means nothing; bits do.
#
#   tests/amx-emu/run.sh [WORKDIR]       (as root, from the repository root; default /tmp/seek-amx-emu)
#
# Exit status: 0 both tests passed on the tile instructions, 1 they did not (or seek did not
# build), 3 the emulator could not be had here (not root, a download or build failed, the
# guest did not boot or did not finish in 15 minutes; a normal run takes ~3).
#
# Three things about the emulator shape the run (docs/kernels.md, "AMX tiles"):
#  - Bochs 3.0 multiplies the signed bytes of TDPBSSD / TDPBSUD as unsigned (its byte
#    products widen uint8 to int32), so it is built from Debian's source package with that
#    one cast fixed (setup.sh: the 16 widenings of signed bytes, counted first);
#  - it has no XFD, which Linux requires for tile state: the guest boots with
#    clearcpuid=amx_tile and xcr0amx.c turns the tile bits of XCR0 on; grant.c answers the
#    tile-state request the kernel then refuses;
#  - it faults on EVEX gathers indexed by zmm16-31, so the test build keeps GCC off them.
set -eu
W=${1:-/tmp/seek-amx-emu}
R=$W/root                       # a Debian 13 tree: Bochs, the guest kernel, its headers, tools
G=/amx                          # the guest's files, inside R
HERE=tests/amx-emu
[ -f $HERE/run.sh ] || { echo "run.sh: run from the repository root" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "amx-emu: needs root (debootstrap, chroot); seek not tested" >&2; exit 3; }
in_root() { chroot "$R" /bin/sh -c "$*"; }

# 1. the emulator, the guest kernel and the module (cached in WORKDIR)
sh $HERE/setup.sh "$W" || { echo "amx-emu: the emulator could not be set up (logs in $W); seek not tested" >&2; exit 3; }
kver=$(cd "$R/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V | tail -1)

# 2. the two test programs (static) and seek, for Sapphire Rapids, without zmm16-31, with
#    grant.c; the test chat model (Q8_0 deepseek2, made by this machine's own build)
rm -rf "$R$G" && mkdir -p "$R$G/initrd/bin" "$R$G/initrd/proc" "$R$G/initrd/dev" "$R$G/initrd/tmp" "$R$G/initrd/work" \
    "$R$G/iso/isolinux"
fixed=$(for i in $(seq 16 31); do printf -- '-ffixed-xmm%d ' "$i"; done)
arch="-march=sapphirerapids $fixed"
rm -rf "$W/build"   # objects from another checkout could look newer than this one's sources
make -j"$(nproc)" BUILD="$W/build" ARCHFLAGS="$arch" EXTRA_LDLIBS="$HERE/grant.c -Wl,--wrap=syscall" \
    "$W/build/libseek.a" "$W/build/seek" >"$W/seek-build.log" 2>&1 ||
    { echo "amx-emu: seek did not build (log $W/seek-build.log)" >&2; exit 1; }
make -j"$(nproc)" build/tests/chat-model.gguf >>"$W/seek-build.log" 2>&1 ||
    { echo "amx-emu: the test model was not made (log $W/seek-build.log)" >&2; exit 1; }
cp "$W/build/seek" build/tests/chat-model.gguf "$R$G/initrd/work/"
for lib in $(ldd "$W/build/seek" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
    mkdir -p "$R$G/initrd$(dirname "$lib")" && cp -L "$lib" "$R$G/initrd$lib"
done
for t in test_kernels test_kernels_k; do
    cc -O2 -std=c11 -D_GNU_SOURCE -pthread $arch -Iinclude -Isrc -Itests -static -Wl,--wrap=syscall \
       -o "$R$G/initrd/work/$t" tests/$t.c $HERE/grant.c "$W/build/libseek.a" -lm -pthread ||
        { echo "amx-emu: $t did not build" >&2; exit 1; }
done

# 3. the boot CD: isolinux, the kernel, an initramfs of busybox + init + module + tests
cp "$R/usr/bin/busybox" "$R$G/initrd/bin/" && cp $HERE/init "$R$G/initrd/init" && chmod +x "$R$G/initrd/init"
cp "$R/mod/xcr0amx.ko" "$R$G/initrd/"
cp "$R/boot/vmlinuz-$kver" "$R$G/iso/vmlinuz"
cat >"$R$G/iso/isolinux/isolinux.cfg" <<EOF
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  APPEND clearcpuid=amx_tile no5lvl initrd=/initrd.gz console=ttyS0,115200 mitigations=off nokaslr
EOF
in_root "cd $G/initrd && find . | cpio -o -H newc 2>/dev/null | gzip -1 >$G/iso/initrd.gz && \
    cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 $G/iso/isolinux/ && \
    xorriso -as mkisofs -quiet -o $G/amx.iso -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot \
        -boot-load-size 4 -boot-info-table $G/iso 2>/dev/null"

# 4. boot it (no5lvl: Bochs fails to return from SMM to 5-level paging)
cat >"$R$G/bochsrc" <<EOF
megs: 1024
cpu: model=sapphire_rapids, count=1, ips=400000000
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=$G/amx.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$G/serial.out
display_library: nogui
log: $G/bochs.log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
clock: sync=none, time0=local
EOF
echo "booting the emulated Sapphire Rapids (~3 min)"
timeout 900 chroot "$R" /bochs/bochs -q -f $G/bochsrc </dev/null >"$W/bochs-run.log" 2>&1 || true
cp "$R$G/serial.out" "$W/serial.out" 2>/dev/null || : >"$W/serial.out"
grep -a -E '^(===|ok |FAIL |#|  |xcr0amx:|amx:|avx512:|kernels:|tiles:)' "$W/serial.out" || true
if ! grep -a -q '^=== END' "$W/serial.out"; then   # the guest did not boot, or stopped: the emulator's
    echo "amx-emu: the guest did not finish (guest output: $W/serial.out, emulator log: $R$G/bochs.log)" >&2
    exit 3
fi
tiles=$(grep -a -c '^  on the tile instructions' "$W/serial.out" || true)
if grep -a -q '^=== test_kernels rc 0' "$W/serial.out" && grep -a -q '^=== test_kernels_k rc 0' "$W/serial.out" &&
    [ "$tiles" = 2 ] && grep -a -q '^=== logits rc 0' "$W/serial.out" &&
    grep -a -q '^amx: profile: AMX tiles: [1-9]' "$W/serial.out" && ! grep -a -q '^avx512: profile: AMX' "$W/serial.out"; then
    echo "amx-emu: both AMX tests passed on the tile instructions, and the model's logits with tiles equal those without"
else
    echo "amx-emu: FAILED (guest output: $W/serial.out, emulator log: $R$G/bochs.log)"
    exit 1
fi
