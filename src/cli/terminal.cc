#include "cli/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

namespace lmesh::cli {

bool stdout_is_terminal() {
  return isatty(STDOUT_FILENO) == 1;
}

bool use_colour(bool terminal, config::GetEnvFn getenv_fn) {
  const char* no_colour = getenv_fn("NO_COLOR");
  return terminal && (no_colour == nullptr || *no_colour == '\0');
}

size_t terminal_rows() {
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0) return 0;
  return size.ws_row;
}

}  // namespace lmesh::cli
