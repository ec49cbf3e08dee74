/* xcr0amx.c - a Linux module for the AMX emulator run (tests/amx-emu/run.sh) only.
 *
 * Bochs emulates AMX but not XFD (extended feature disable), and Linux turns on tile state
 * only together with XFD; given AMX without it, its boot writes XCR0 with tile config but not
 * tile data, which faults. So the guest boots with clearcpuid=amx_tile (no tiles in XCR0)
 * and this module then sets XCR0's tile bits (17 config, 18 data) itself. The kernel never
 * saves tile state on a switch; the one test process that uses tiles runs alone. */
#include <linux/module.h>
#include <asm/fpu/xcr.h>

static int __init xcr0amx_init(void) {
    const u64 before = xgetbv(0);
    xsetbv(0, before | (3ULL << 17));
    pr_info("xcr0amx: XCR0 %llx -> %llx\n", before, xgetbv(0));
    return 0;
}

static void __exit xcr0amx_exit(void) {}

module_init(xcr0amx_init);
module_exit(xcr0amx_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("turn on AMX tile state in XCR0 (emulator test runs only)");
