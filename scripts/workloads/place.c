/* place.c - a placement program in the manner of SPEC CPU2000 175.vpr's placer (the class "SpecCPU
 * VPR" of seed 002): simulated annealing of blocks on a square grid, minimising the sum of the
 * nets' bounding-box half-perimeters. A move swaps a random block with whatever occupies a random
 * nearby location and re-evaluates the nets of both; the data (blocks, nets, pins, grid) are large
 * and the moves random, so the TLB miss rate is high, while there is one process and no context
 * switch, as in the paper's VPR.
 *
 * Usage: place [BLOCKS [MOVES]]   (defaults 1,500,000 blocks, 2,000,000 moves; about 78 MiB)
 * Start-up builds the netlist and an initial placement (the first-touch phase); the annealing loop
 * is the steady phase. Deterministic: its own generator, no seeds from the environment.
 * Written for vmmu; record its steady phase with `vmmu record --skip N` (scripts/workloads/README.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { PinsPerNet = 4, NetsPerBlock = 4 };

struct block { int32_t x, y; uint32_t nets[NetsPerBlock]; };
struct net { uint32_t pins[PinsPerNet]; int32_t cost; };

static uint64_t state = 0x2545f4914f6cdd1dull;
static uint32_t next_random(void) { /* xorshift64*: a fixed, portable stream */
  state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
  return (uint32_t)((state * 0x2545f4914f6cdd1dull) >> 32);
}

static int32_t net_cost(const struct net *n, const struct block *blocks) {
  int32_t xmin = INT32_MAX, xmax = INT32_MIN, ymin = INT32_MAX, ymax = INT32_MIN;
  for (int p = 0; p < PinsPerNet; ++p) {
    const struct block *b = &blocks[n->pins[p]];
    if (b->x < xmin) xmin = b->x;
    if (b->x > xmax) xmax = b->x;
    if (b->y < ymin) ymin = b->y;
    if (b->y > ymax) ymax = b->y;
  }
  return (xmax - xmin) + (ymax - ymin);
}

static unsigned long argument(const char *text, const char *name) {
  char *end = NULL;
  const unsigned long value = strtoul(text, &end, 10);
  if (*text == '\0' || *end != '\0' || value < 2 || value > 100000000) {
    fprintf(stderr, "place: %s '%s' must be a number from 2 to 100000000\n", name, text);
    exit(2);
  }
  return value;
}

/* Re-evaluates the nets of a block after it moved; returns the change of the total cost. */
static int64_t update_nets(const struct block *b, struct net *nets, const struct block *blocks) {
  int64_t delta = 0;
  for (int k = 0; k < NetsPerBlock; ++k) {
    struct net *n = &nets[b->nets[k]];
    const int32_t cost = net_cost(n, blocks);
    delta += cost - n->cost;
    n->cost = cost;
  }
  return delta;
}

int main(int argc, char **argv) {
  const uint32_t count = argc > 1 ? (uint32_t)argument(argv[1], "BLOCKS") : 1500000u;
  const unsigned long moves = argc > 2 ? argument(argv[2], "MOVES") : 2000000ul;
  uint32_t side = 1;
  while ((uint64_t)side * side < count) ++side;
  const uint32_t net_count = count; /* PinsPerNet * nets = NetsPerBlock * blocks */
  struct block *blocks = malloc((size_t)count * sizeof *blocks);
  struct net *nets = malloc((size_t)net_count * sizeof *nets);
  uint32_t *grid = malloc((size_t)side * side * sizeof *grid); /* block + 1 at each location, 0 empty */
  uint32_t *order = malloc((size_t)count * sizeof *order);
  if (!blocks || !nets || !grid || !order) {
    fprintf(stderr, "place: cannot allocate %u blocks\n", count);
    return 1;
  }
  for (uint64_t i = 0; i < (uint64_t)side * side; ++i) grid[i] = 0;
  /* Initial placement: a random permutation of the blocks over the first locations. */
  for (uint32_t i = 0; i < count; ++i) order[i] = i;
  for (uint32_t i = count - 1; i > 0; --i) {
    const uint32_t j = next_random() % (i + 1), t = order[i];
    order[i] = order[j]; order[j] = t;
  }
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t b = order[i];
    blocks[b].x = (int32_t)(i % side); blocks[b].y = (int32_t)(i / side);
    grid[i] = b + 1;
  }
  /* Nets: pin p of net n is block order_p[n], where order_p shuffles the blocks within windows of
   * 4096 (a bijection, so every block is on exactly one net per pin position: four nets). */
  for (int p = 0; p < PinsPerNet; ++p) {
    for (uint32_t i = 0; i < count; ++i) order[i] = i;
    for (uint32_t base = 0; base < count; base += 4096) {
      const uint32_t end = base + 4096 < count ? base + 4096 : count;
      for (uint32_t i = end - 1; i > base; --i) {
        const uint32_t j = base + next_random() % (i - base + 1), t = order[i];
        order[i] = order[j]; order[j] = t;
      }
    }
    for (uint32_t n = 0; n < net_count; ++n) {
      nets[n].pins[p] = order[n];
      blocks[order[n]].nets[p] = n;
    }
  }
  int64_t total = 0;
  for (uint32_t n = 0; n < net_count; ++n) { nets[n].cost = net_cost(&nets[n], blocks); total += nets[n].cost; }
  const int64_t initial = total;
  /* Annealing: temperature in cost units, lowered every 1/16 of the moves; a worsening move of
   * delta is accepted with probability 2^(-delta / temperature), from an integer table. */
  int32_t temperature = 16;
  unsigned long accepted = 0;
  for (unsigned long m = 0; m < moves; ++m) {
    if (m % (moves / 16 + 1) == 0 && m > 0 && temperature > 1) temperature /= 2;
    const uint32_t a = next_random() % count;
    const int32_t range = 32;
    int32_t x = blocks[a].x + (int32_t)(next_random() % (2 * range + 1)) - range;
    int32_t y = blocks[a].y + (int32_t)(next_random() % (2 * range + 1)) - range;
    if (x < 0 || y < 0 || x >= (int32_t)side || y >= (int32_t)side) continue;
    const uint64_t to = (uint64_t)y * side + (uint64_t)x, from = (uint64_t)blocks[a].y * side + (uint64_t)blocks[a].x;
    const uint32_t other = grid[to];
    blocks[a].x = x; blocks[a].y = y;
    if (other) { blocks[other - 1].x = (int32_t)(from % side); blocks[other - 1].y = (int32_t)(from / side); }
    int64_t delta = update_nets(&blocks[a], nets, blocks);
    if (other) delta += update_nets(&blocks[other - 1], nets, blocks);
    const int64_t halvings = delta <= 0 ? 0 : (delta + temperature - 1) / temperature;
    if (delta <= 0 || (halvings < 31 && (next_random() >> (32 - 16)) < (65536u >> halvings))) {
      grid[to] = a + 1; grid[from] = other; total += delta; ++accepted;
    } else { /* undo */
      blocks[a].x = (int32_t)(from % side); blocks[a].y = (int32_t)(from / side);
      if (other) { blocks[other - 1].x = (int32_t)(to % side); blocks[other - 1].y = (int32_t)(to / side); }
      update_nets(&blocks[a], nets, blocks);
      if (other) update_nets(&blocks[other - 1], nets, blocks);
    }
  }
  printf("place: %u blocks, %lu moves, %lu accepted, cost %lld -> %lld\n", count, moves, accepted,
         (long long)initial, (long long)total);
  free(order); free(grid); free(nets); free(blocks);
  return 0;
}
