// component.cpp - UVM's phase order over the component tree.
#include "component.h"

#include <chrono>
#include <ctime>

namespace vmmu::tb {
namespace {

void topDown(Component &component, void (Component::*phase)()) {
  (component.*phase)();
  for (Component *child : component.childComponents())
    topDown(*child, phase);
}

void bottomUp(Component &component, void (Component::*phase)()) {
  for (Component *child : component.childComponents())
    bottomUp(*child, phase);
  (component.*phase)();
}

} // namespace

std::vector<Component *> Component::childComponents() const {
  std::vector<Component *> children;
  for (sc_core::sc_object *object : get_child_objects())
    if (auto *component = dynamic_cast<Component *>(object))
      children.push_back(component);
  return children;
}

void PhaseRunner::run(Component &top) {
  topDown(top, &Component::buildPhase);
  bottomUp(top, &Component::connectPhase);
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  sc_core::sc_start();
  cpu_seconds_ = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  wall_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  bottomUp(top, &Component::reportPhase);
  std::fflush(stdout);
  server_.summarize(stdout);
}

} // namespace vmmu::tb
