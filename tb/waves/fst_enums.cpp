// fst_enums.cpp - lists the variables of an FST file that carry an enum table, one per line as
// GTKWave names them in a save file ("scope.scope.name[msb:lsb]"). tb/waves/check uses it: a
// signal the save file shows with GTKWave's enum flag must have a table (else GTKWave shows
// bits), and an enum-typed signal without one needs a translate filter instead.
// Usage: vmmu_fst_enums FILE.fst   (exit 0, 1 on an unreadable file)
#include <cstdio>
#include <string>
#include <vector>

#include "gtkwave/fstapi.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: vmmu_fst_enums FILE.fst\n");
    return 2;
  }
  void *reader = fstReaderOpen(argv[1]);
  if (!reader) {
    std::fprintf(stderr, "vmmu_fst_enums: %s: not a readable FST file\n", argv[1]);
    return 1;
  }
  std::vector<std::string> scopes;
  bool enum_ref = false; // an enum table reference applies to the next variable (fstapi.c)
  while (const fstHier *h = fstReaderIterateHier(reader)) {
    switch (h->htyp) {
    case FST_HT_SCOPE:
      scopes.emplace_back(h->u.scope.name, h->u.scope.name_length);
      break;
    case FST_HT_UPSCOPE:
      if (!scopes.empty())
        scopes.pop_back();
      break;
    case FST_HT_ATTRBEGIN:
      // A table's definition has its literals as the name; a reference has no name.
      if (h->u.attr.typ == FST_AT_MISC && h->u.attr.subtype == FST_MT_ENUMTABLE && h->u.attr.name_length == 0)
        enum_ref = true;
      break;
    case FST_HT_VAR:
      if (enum_ref) {
        std::string path;
        for (const std::string &scope : scopes)
          path += scope + ".";
        for (uint32_t i = 0; i < h->u.var.name_length; ++i) // "state_q [2:0]" -> "state_q[2:0]"
          if (h->u.var.name[i] != ' ')
            path += h->u.var.name[i];
        std::printf("%s\n", path.c_str());
      }
      enum_ref = false;
      break;
    default:
      break;
    }
  }
  fstReaderClose(reader);
  return 0;
}
