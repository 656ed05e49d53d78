"""Build and run a C export on emulated microcontrollers: Cortex-M0 and
Cortex-M0+ on ``qemu-system-arm -M microbit``, Cortex-M4F on ``-M
mps2-an386`` (output through semihosting, startup code and linker scripts in
``tests/mcu/``), and the ATmega328P with avr-gcc (run in simavr). Shared by
``tests/test_export_mcu.py`` and ``benchmarks/microcontroller.py``."""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent / "mcu"

# target: qemu machine, compiler flags, linker script
CORTEX_M = {
    "cortex-m0": ("microbit", ["-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft"], "microbit.ld"),
    "cortex-m0plus": ("microbit", ["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"],
                      "microbit.ld"),
    "cortex-m4f": ("mps2-an386", ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16",
                                  "-mfloat-abi=hard"], "mps2_an386.ld"),
}
ARM_TOOLS = ("arm-none-eabi-gcc", "arm-none-eabi-nm", "arm-none-eabi-size", "qemu-system-arm")
AVR_TOOLS = ("avr-gcc", "avr-size")
# Debian packages that bring the tools (installed by .ci/run).
PACKAGES = {"arm-none-eabi-gcc": "gcc-arm-none-eabi", "arm-none-eabi-nm": "binutils-arm-none-eabi",
            "arm-none-eabi-size": "binutils-arm-none-eabi", "qemu-system-arm": "qemu-system-arm",
            "avr-gcc": "gcc-avr", "avr-size": "binutils-avr", "simavr": "simavr"}
# Soft-float helpers of libgcc (ARM EABI and generic names).
SOFT_FLOAT = re.compile(r"^(__aeabi_(f|d|[iul]2[fd]|[iul]{1,2}2[fd])\w*|__\w+[sd]f\d?|"
                        r"__\w*(float|fix)\w*[sd]f\w*)$")

COMMON_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-ffunction-sections",
                "-fdata-sections"]


def missing(tools):
    """The tools not on PATH, with the packages that bring them."""
    return [f"{tool} (Debian package {PACKAGES[tool]})" for tool in tools
            if shutil.which(tool) is None]


def c_table(ctype, name, values, qualifier="const"):
    """A C array definition of ``values``."""
    values = np.asarray(values).ravel()
    text = ", ".join(repr(float(v)) + "f" if ctype == "float" else str(int(v))
                     for v in values)
    return f"static {qualifier} {ctype} {name}[{values.size}] = {{{text}}};\n"


def cortex_m_program(name, rows, *, quantized=False, call=None, header=None):
    """main() of a test program: predicts every row (``NAME_predict`` on
    float rows, or ``NAME_predict_q`` on int8 rows when ``quantized``) and
    writes the results, space-separated, then the stack bytes the
    predictions used (after ``s``), through semihosting; it calls
    ``trace_mark()`` before the first prediction and after the last. Another
    model (emlearn's) takes ``call`` on ``row`` and its ``header``."""
    rows = np.asarray(rows)
    ctype = "int8_t" if quantized else "float"
    function = f"{name}_predict_q" if quantized else f"{name}_predict"
    call = (call or f"{function}(row)").replace("row", "&rows[i * FEATURES]")
    return f"""#include <stdint.h>
#include "{header or name + '.h'}"

#define FEATURES {rows.shape[1]}
#define ROWS {rows.shape[0]}u

void host_write(const char *text);
void trace_mark(void);
void stack_paint(void);
uint32_t stack_used(const void *top);
{c_table(ctype, "rows", rows)}
static int results[ROWS];

static char *put_int(char *at, int value)
{{
    char digits[12];
    int n = 0;
    unsigned magnitude = value < 0 ? 0u - (unsigned)value : (unsigned)value;
    if (value < 0)
        *at++ = '-';
    do {{
        digits[n++] = (char)('0' + magnitude % 10u);
        magnitude /= 10u;
    }} while (magnitude);
    while (n)
        *at++ = digits[--n];
    return at;
}}

int main(void)
{{
    char line[256];
    char *at = line;
    uint32_t i, stack;
    void *top;
    __asm__ volatile("mov %0, sp" : "=r"(top));
    stack_paint();
    trace_mark();
    for (i = 0; i < ROWS; ++i)
        results[i] = {call};
    trace_mark();
    stack = stack_used(top);
    for (i = 0; i < ROWS; ++i) {{
        at = put_int(at, results[i]);
        *at++ = ' ';
        if (at - line > 200 || i + 1 == ROWS) {{
            *at = 0;
            host_write(line);
            at = line;
        }}
    }}
    at = put_int(line, (int)stack);
    *at = 0;
    host_write("\\ns ");
    host_write(line);
    host_write("\\n");
    return 0;
}}
"""


def run_checked(command):
    """Run a build command; a RuntimeError with its output if it fails."""
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)}\n{result.stderr}")
    return result


def version(tool):
    """The first line of ``tool --version``."""
    return subprocess.run([tool, "--version"], capture_output=True, text=True,
                          check=True).stdout.splitlines()[0]


def build_cortex_m(target, sources, elf, *, optimize="-Os", defines=(), strict=True):
    """Compile and link ``sources`` with the startup code for ``target``
    (``strict``: ISO C99, every warning an error)."""
    _, flags, script = CORTEX_M[target]
    warnings = COMMON_FLAGS if strict else ["-std=gnu99", "-ffunction-sections",
                                            "-fdata-sections"]
    run_checked(["arm-none-eabi-gcc", *flags, *warnings, optimize, *defines,
                 "-nostartfiles", "--specs=nano.specs", f"-L{HERE}", f"-T{script}",
                 "-Wl,--gc-sections", *map(str, sources), str(HERE / "startup.c"),
                 "-o", str(elf), "-lm"])
    return elf


def run_cortex_m(target, elf, *, timeout=120, trace=None):
    """stdout of the program on the emulated machine (semihosting). With
    ``trace`` (a path), qemu logs every instruction executed there."""
    machine = CORTEX_M[target][0]
    output = Path(elf).with_suffix(".out")
    command = ["qemu-system-arm", "-M", machine, "-display", "none", "-monitor", "none",
               "-serial", "none", "-semihosting-config", "enable=on,target=native,chardev=out",
               "-chardev", f"file,id=out,path={output}", "-kernel", str(elf)]
    if trace is not None:
        command += ["-singlestep", "-d", "exec,nochain", "-D", str(trace)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}:\n"
                           f"{result.stdout}\n{result.stderr}")
    return output.read_text()


def count_instructions(target, elf, trace):
    """Instructions executed between the two ``trace_mark()`` calls (qemu's
    log of every instruction, one per translation block)."""
    run_cortex_m(target, elf, trace=trace)
    mark = next(int(line.split()[0], 16) for line in subprocess.run(
        ["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True
    ).stdout.splitlines() if line.endswith(" trace_mark"))
    mark_text = f"/{mark:08x}/"
    count, inside = 0, False
    with open(trace) as log:
        for line in log:
            if mark_text in line:
                if inside:
                    break
                inside = True
            elif inside:
                count += 1
    Path(trace).unlink()
    return count


def symbols(elf, nm="arm-none-eabi-nm"):
    """Names of the symbols of an object or ELF file."""
    out = subprocess.run([nm, str(elf)], capture_output=True, text=True, check=True).stdout
    return [line.split()[-1] for line in out.splitlines() if line.split()]


def size(elf, tool="arm-none-eabi-size"):
    """``(text, data, bss)`` bytes of an ELF file."""
    out = subprocess.run([tool, str(elf)], capture_output=True, text=True, check=True).stdout
    return tuple(int(v) for v in out.splitlines()[1].split()[:3])


def parse(output):
    """The results and the stack bytes printed by a test program."""
    results, _, stack = output.partition("\ns ")
    return np.array(results.split(), dtype=np.int64), int(stack.split()[0]) if stack else None


def avr_program(name, rows):
    """main() of an ATmega328P test program: the rows (integers, or floats)
    in program memory, each copied to RAM and predicted with
    ``NAME_predict``; the results go out through the UART, space-separated."""
    rows = np.asarray(rows)
    integral = np.array_equal(rows, np.round(rows)) and rows.min() >= 0 and rows.max() < 256
    ctype, read = ("uint8_t", "pgm_read_byte") if integral else ("float", "pgm_read_float")
    return f"""#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/pgmspace.h>
#include <avr/sleep.h>
#include "{name}.h"

#define FEATURES {name.upper()}_N_FEATURES
#define ROWS {rows.shape[0]}u

{c_table(ctype, "rows", rows, "const PROGMEM")}
static void put(char c)
{{
    while (!(UCSR0A & (1 << UDRE0))) {{
    }}
    UDR0 = c;
}}

static void put_int(int value)
{{
    char digits[8];
    int n = 0;
    unsigned magnitude = value < 0 ? 0u - (unsigned)value : (unsigned)value;
    if (value < 0)
        put('-');
    do {{
        digits[n++] = (char)('0' + magnitude % 10u);
        magnitude /= 10u;
    }} while (magnitude);
    while (n)
        put(digits[--n]);
}}

int main(void)
{{
    float row[FEATURES];
    uint16_t i, f;
    UCSR0B = 1 << TXEN0;
    for (i = 0; i < ROWS; ++i) {{
        for (f = 0; f < FEATURES; ++f)
            row[f] = (float){read}(&rows[i * FEATURES + f]);
        put_int({name}_predict(row));
        put(' ');
    }}
    put('\\n');
    cli();
    sleep_enable();
    sleep_cpu();
    return 0;
}}
"""


def build_avr(sources, elf, *, defines=(), mcu="atmega328p"):
    """Compile and link ``sources`` for an AVR part with avr-gcc -Os."""
    run_checked(["avr-gcc", f"-mmcu={mcu}", "-std=gnu99", "-Os", "-Wall", "-Wextra", "-Werror",
                 "-ffunction-sections", "-fdata-sections", "-Wl,--gc-sections", *defines,
                 *map(str, sources), "-o", str(elf)])
    return elf


def run_avr(elf, *, mcu="atmega328p", timeout=120):
    """What the program writes to its UART, run in simavr."""
    result = subprocess.run(["simavr", "-m", mcu, "-f", "16000000", str(elf)],
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode:
        raise RuntimeError(f"simavr exited {result.returncode}:\n{result.stderr}")
    # simavr writes the UART's output to stderr, in colour, its newline as "."
    text = re.sub(r"\x1b\[[0-9;]*m", "", result.stderr)
    return " ".join(re.sub(r"\.$", "", line) for line in text.splitlines())
