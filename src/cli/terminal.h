// What the commands need to know about where their output goes.
#pragma once

#include <cstddef>

#include "common/config/flags.h"

namespace lmesh::cli {

bool stdout_is_terminal();
// Colour only on a terminal, and never when NO_COLOR is set to anything (https://no-color.org).
bool use_colour(bool terminal, config::GetEnvFn getenv_fn);
// The terminal's height in lines, 0 when unknown.
size_t terminal_rows();

// ANSI: cursor home, then clear the screen, for redrawing a table in place.
inline constexpr char kClearScreen[] = "\x1b[H\x1b[2J";

}  // namespace lmesh::cli
