/* Test-only stand-in for Windows' bcryptprimitives.dll under Wine 8.0, which lacks ProcessPrng.
 * Rust's standard library calls ProcessPrng at start-up (HashMap seeds), so without it the exe
 * cannot start under that Wine. .ci/windows.sh builds this beside the exe in a temporary folder
 * for the Wine smoke test only; it is never shipped: real Windows 10+ has ProcessPrng. */
#include <windows.h>

/* advapi32's RtlGenRandom, exported under this name. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    /* RtlGenRandom takes a ULONG length, so a huge request is filled in chunks. */
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
