/* Startup code of the emulated Cortex-M test programs (qemu machines
 * microbit and mps2-an386): a vector table, a reset handler that enables the
 * FPU where there is one, copies .data, clears .bss and calls main(), and
 * output and exit through ARM semihosting. */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

static int semihost(int operation, const void *argument)
{
    register int r0 __asm__("r0") = operation;
    register const void *r1 __asm__("r1") = argument;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* SYS_WRITE0: a NUL-terminated string to the host's stdout. */
void host_write(const char *text)
{
    semihost(0x04, text);
}

/* SYS_EXIT: ApplicationExit (qemu exits 0) or RunTimeErrorUnknown (1). */
void host_exit(int status)
{
    semihost(0x18, (const void *)(uintptr_t)(status == 0 ? 0x20026u : 0x20023u));
    for (;;) {
    }
}

/* A mark in the instruction trace: the benchmark counts the instructions
 * executed between two calls. */
__attribute__((noinline)) void trace_mark(void)
{
    __asm__ volatile("" ::: "memory");
}

/* Stack painting: stack_paint() fills the free stack below its own frame
 * with a pattern; stack_used(top) is how far below top (the caller's stack
 * pointer) the code run since then wrote. */
#define PAINT 0xA5A5A5A5u

__attribute__((noinline)) void stack_paint(void)
{
    uint32_t *sp;
    volatile uint32_t *p; /* volatile: a memset call would write over its own frame */
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (p = &_ebss; p < sp; ++p)
        *p = PAINT;
}

__attribute__((noinline)) uint32_t stack_used(const void *top)
{
    const uint32_t *p = &_ebss;
    while ((const void *)p < top && *p == PAINT)
        ++p;
    return (uint32_t)((uintptr_t)top - (uintptr_t)p);
}

void reset_handler(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata;
#if defined(__ARM_FP)
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: CP10, CP11 full access */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    while (dst < &_edata)
        *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;)
        *dst++ = 0;
    host_exit(main());
}

static void fault_handler(void)
{
    host_write("fault\n");
    host_exit(1);
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&_estack, reset_handler, fault_handler, fault_handler,
    fault_handler, fault_handler, fault_handler, 0, 0, 0, 0, fault_handler, fault_handler,
    0, fault_handler, fault_handler,
};
