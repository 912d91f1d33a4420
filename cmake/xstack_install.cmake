# Installation: headers, static libraries, a CMake package and a pkg-config file.
# Filled in by the packaging work; kept apart so the top-level list stays short.
