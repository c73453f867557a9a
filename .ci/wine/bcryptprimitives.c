/*
 * ProcessPrng, the one function Rust's std takes from bcryptprimitives.dll
 * (its random source on Windows since Rust 1.78). Wine 8, Debian 12's, has
 * no such DLL, so no Rust program starts under it; .ci/wine-tests builds
 * this stand-in with MinGW and puts it in the Wine prefix only when the
 * installed Wine lacks the DLL. It fills the buffer from RtlGenRandom
 * (advapi32's SystemFunction036), which Wine has.
 */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
