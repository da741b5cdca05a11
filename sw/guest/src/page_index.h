// page_index.h - the guest kernel's record of a process's resident pages, shaped like its page
// tables: a radix tree of 512-entry nodes indexed by the VA bits of each level, with 4 KiB pages
// at level 1 and 2 MiB pages at level 2.
//
// A lookup costs four steps whatever the footprint, and a range walk descends only into subtrees
// that hold pages, so a munmap of terabytes over a sparse address space visits what is mapped and
// nothing else. Walks go in address order, as the kernel's operations must (their order decides
// which frames are freed first).
#pragma once

#include <array>
#include <algorithm>
#include <bitset>
#include <cstdint>
#include <memory>

#include "vmmu/types.h"

namespace vmmu::guest {

template <typename Value> class PageIndex {
public:
  // The page containing `va`, or nullptr; `*page` gets its start.
  Value *find(uint64_t va, uint64_t *page) {
    if (va >= kTop)
      return nullptr;
    Node *node = &root_;
    for (unsigned level = kLevels;; --level) {
      const unsigned i = indexOf(va, level);
      if (node->present[i]) {
        *page = va & ~(spanOf(level) - 1);
        return &(*node->values)[i];
      }
      if (level == 1 || !node->children || !(*node->children)[i])
        return nullptr;
      node = (*node->children)[i].get();
    }
  }

  const Value *find(uint64_t va, uint64_t *page) const { return const_cast<PageIndex *>(this)->find(va, page); }

  // Records the page of `size` starting at `page`, which must not overlap a recorded page.
  void insert(uint64_t page, PageSize size, const Value &value) {
    const unsigned leaf_level = 1 + static_cast<unsigned>(size);
    Node *node = &root_;
    for (unsigned level = kLevels; level > leaf_level; --level) {
      if (!node->children)
        node->children = std::make_unique<std::array<std::unique_ptr<Node>, 512>>();
      std::unique_ptr<Node> &child = (*node->children)[indexOf(page, level)];
      if (!child) {
        child = std::make_unique<Node>();
        ++node->used;
      }
      node = child.get();
    }
    if (!node->values)
      node->values = std::make_unique<std::array<Value, 512>>();
    const unsigned i = indexOf(page, leaf_level);
    (*node->values)[i] = value;
    node->present[i] = true;
    ++node->used;
    ++size_;
  }

  // Calls `visit(page, value)` for each page starting in [start, end), in address order; a page
  // is dropped when `visit` returns true. Empty subtrees are skipped and emptied ones freed.
  template <typename Visit> void walk(uint64_t start, uint64_t end, Visit &&visit) {
    if (end > kTop)
      end = kTop;
    if (start < end)
      walkNode(root_, kLevels, 0, start, end, visit);
  }

  // Whether a page starts in [start, end).
  bool anyIn(uint64_t start, uint64_t end) {
    bool any = false;
    walk(start, end, [&](uint64_t, Value &) {
      any = true;
      return false;
    });
    return any;
  }

  size_t size() const { return size_; }
  void clear() {
    root_ = Node();
    size_ = 0;
  }

private:
  static constexpr unsigned kLevels = 4;
  static constexpr uint64_t kTop = uint64_t{1} << 48;  // 4-level paging: 48-bit VAs

  struct Node {
    std::unique_ptr<std::array<std::unique_ptr<Node>, 512>> children;  // levels 2..4
    std::unique_ptr<std::array<Value, 512>> values;                      // levels 1..2
    std::bitset<512> present;  // values[i] is a recorded page
    unsigned used = 0;         // recorded pages plus child nodes
  };

  static constexpr uint64_t spanOf(unsigned level) { return uint64_t{1} << (12 + 9 * (level - 1)); }
  static constexpr unsigned indexOf(uint64_t va, unsigned level) {
    return static_cast<unsigned>((va >> (12 + 9 * (level - 1))) & 511);
  }

  // Walks entries of `node` (covering VAs from `base`) that overlap [start, end).
  template <typename Visit>
  void walkNode(Node &node, unsigned level, uint64_t base, uint64_t start, uint64_t end, Visit &visit) {
    const uint64_t span = spanOf(level);
    const unsigned first = start > base ? static_cast<unsigned>((start - base) / span) : 0;
    const unsigned last = static_cast<unsigned>(std::min<uint64_t>(511, (end - 1 - base) / span));
    for (unsigned i = first; i <= last; ++i) {
      const uint64_t at = base + i * span;
      if (node.present[i]) {
        if (at >= start && visit(at, (*node.values)[i])) {
          node.present[i] = false;
          --node.used;
          --size_;
        }
      } else if (node.children && (*node.children)[i]) {
        std::unique_ptr<Node> &child = (*node.children)[i];
        walkNode(*child, level - 1, at, start, end, visit);
        if (child->used == 0) {
          child.reset();
          --node.used;
        }
      }
    }
  }

  Node root_;
  size_t size_ = 0;
};

}  // namespace vmmu::guest
