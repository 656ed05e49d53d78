"""C text of an export: the checks on names, the one escaping function
through which every user string reaches the C files, number literals that
refuse non-finite values, and the constant tables with their placement and
read macros."""

import re

import numpy as np

C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for "
    "goto if inline int long register restrict return short signed sizeof static struct "
    "switch typedef union unsigned void volatile while _Alignas _Alignof _Atomic _Bool "
    "_Complex _Generic _Imaginary _Noreturn _Static_assert _Thread_local "
    "alignas alignof bool constexpr false nullptr static_assert thread_local true typeof "
    "typeof_unqual".split())

# Headers of the C standard (a file NAME.h of these names would shadow the
# system header for code compiled with -I on the export's folder).
C_HEADERS = frozenset(
    "assert complex ctype errno fenv float inttypes iso646 limits locale math setjmp "
    "signal stdalign stdarg stdatomic stdbit stdbool stdckdint stddef stdint stdio stdlib "
    "stdnoreturn string tgmath threads time uchar wchar wctype".split())

# Identifiers of the C library and the startup code that a user's program
# (or the export itself) may declare: a model named so confuses readers and
# linkers alike.
C_LIBRARY_NAMES = frozenset(
    "main abort abs assert atexit atof atoi atol calloc clock errno exit exp expf fabs "
    "fabsf free getchar malloc memcmp memcpy memmove memset printf putchar puts qsort rand "
    "realloc scanf sqrt sqrtf srand strcmp strcpy strlen tanh tanhf time".split())

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def check_name(name):
    """Refuse a model name that is not a plain C identifier or that collides
    with a C keyword, a standard header or a C library name."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"name must be a C identifier (letters, digits and underscores, "
                         f"starting with a letter), got {name!r}.")
    for names, what in ((C_KEYWORDS, "a C keyword"), (C_HEADERS, "a C standard header"),
                        (C_LIBRARY_NAMES, "a C library name")):
        if name in names or name.lower() in names:
            raise ValueError(f"name {name!r} collides with {what}; choose another name.")


def c_string(text):
    """``text`` as a C string literal: printable ASCII as is, every other
    byte of its UTF-8 (and ``"``, ``\\``, ``?``) as a three-digit octal
    escape, so that no user text can end the literal or form a trigraph."""
    out = []
    for byte in str(text).encode("utf-8"):
        char = chr(byte)
        if 0x20 <= byte < 0x7F and char not in '"\\?':
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def c_float(value):
    """A finite float32 constant as a C literal."""
    value = np.float32(value)
    if not np.isfinite(value):
        raise ValueError(f"{float(value)} is not a finite float32 and cannot be exported.")
    text = f"{float(value):.9g}"
    if "e" not in text and "." not in text:
        text += ".0"
    return text + "f"


def c_int(value):
    return str(int(value))


# C type: (bytes, read-macro suffix, literal)
C_TYPES = {
    "int8_t": (1, "I8", c_int),
    "uint8_t": (1, "U8", c_int),
    "uint16_t": (2, "U16", c_int),
    "int32_t": (4, "I32", lambda v: f"{int(v)}L" if int(v) != -2 ** 31 else "(-2147483647L - 1)"),
    "uint32_t": (4, "U32", lambda v: f"{int(v)}UL"),
    "float": (4, "F32", c_float),
}

# Smallest unsigned type holding every value up to the bound.
INDEX_TYPES = ((0xFF, "uint8_t"), (0xFFFF, "uint16_t"), (0xFFFFFFFF, "uint32_t"))


def index_type(largest):
    for bound, ctype in INDEX_TYPES:
        if largest <= bound:
            return ctype
    raise ValueError(f"{largest} connections or units do not fit a uint32 index.")


def placement_macros(macro):
    """The source's placement and read macros: the tables are ``NAME_CONST``
    (default ``const``) and read through ``NAME_READ_*``, so that a user can
    put them in another address space; ``NAME_PROGMEM`` does that for
    avr-libc."""
    reads = {suffix: "((p)[0])" for _, suffix, _ in C_TYPES.values()}
    progmem = {"I8": "((int8_t)pgm_read_byte(p))", "U8": "pgm_read_byte(p)",
               "U16": "pgm_read_word(p)", "U32": "pgm_read_dword(p)",
               "I32": "((int32_t)pgm_read_dword(p))", "F32": "pgm_read_float(p)"}
    lines = [f"/* Placement of the constant tables: define {macro}_CONST before compiling, e.g.",
             " * as `const __flash` (avr-gcc) or with a section attribute (then define",
             f" * {macro}_POINTEE, the qualifier of pointers into the tables, as const), and",
             f" * {macro}_READ_I8/U8/U16/U32/I32/F32(p) if reading such memory needs more than",
             f" * *p. {macro}_PROGMEM sets them all for avr-libc's PROGMEM. */",
             f"#if defined({macro}_PROGMEM) && !defined({macro}_CONST)",
             "#include <avr/pgmspace.h>",
             f"#define {macro}_CONST const PROGMEM"]
    lines += [f"#define {macro}_READ_{suffix}(p) {read}" for suffix, read in progmem.items()]
    lines += [f"#define {macro}_POINTEE const", "#endif",
              f"#ifndef {macro}_CONST", f"#define {macro}_CONST const", "#endif",
              f"#ifndef {macro}_POINTEE", f"#define {macro}_POINTEE {macro}_CONST", "#endif"]
    for suffix, read in reads.items():
        lines += [f"#ifndef {macro}_READ_{suffix}", f"#define {macro}_READ_{suffix}(p) {read}",
                  "#endif"]
    return "\n".join(lines) + "\n"


class Tables:
    """The constant tables of a source: their C text, their bytes, and the
    expression that reads an element."""

    def __init__(self, macro):
        self.macro = macro
        self.parts = []
        self.flash_bytes = 0

    def add(self, ctype, name, values, comment):
        """Declare ``static NAME_CONST ctype name[] = {values}``; nothing for
        no values (ISO C has no empty arrays, and nothing reads it)."""
        values = np.asarray(values).ravel()
        if not values.size:
            return
        size, _, literal = C_TYPES[ctype]
        with np.errstate(over="ignore", invalid="ignore"):
            single = values.astype(np.float32) if ctype == "float" else None
        if single is not None and not np.isfinite(single).all():
            raise ValueError(f"The {comment} hold NaN or infinite values (in float32): such a "
                             "model cannot be exported.")
        items = [literal(v) for v in values]
        rows = [", ".join(items[i:i + 8]) for i in range(0, len(items), 8)]
        body = ",\n    ".join(rows)
        self.parts.append(f"/* {comment} */\nstatic {self.macro}_CONST {ctype} "
                          f"{name}[{len(items)}] = {{\n    {body}\n}};\n")
        self.flash_bytes += size * len(items)

    def read(self, ctype, element):
        """C expression reading ``element`` (``array[index]``) of a table."""
        return f"{self.macro}_READ_{C_TYPES[ctype][1]}(&{element})"

    def text(self):
        return "\n".join(self.parts)
