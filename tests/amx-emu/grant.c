/* grant.c - linked into the AMX emulator run's test programs only (tests/amx-emu/run.sh,
 * with -Wl,--wrap=syscall): the guest kernel was told there is no AMX (xcr0amx.c says
 * why), so it would refuse kernels/cpu.c's request for tile state (arch_prctl
 * ARCH_REQ_XCOMP_PERM); a module has already turned the state on, so grant the request. */
#include <sys/syscall.h>

long __real_syscall(long n, long a, long b, long c, long d, long e, long f);
long __wrap_syscall(long n, long a, long b, long c, long d, long e, long f);

long __wrap_syscall(long n, long a, long b, long c, long d, long e, long f) {
    enum { ARCH_REQ_XCOMP_PERM = 0x1023 };
    if (n == SYS_arch_prctl && a == ARCH_REQ_XCOMP_PERM) return 0;
    return __real_syscall(n, a, b, c, d, e, f);
}
