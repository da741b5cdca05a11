// dut_check.cpp - see vmmu/dut_check.h.
#include "vmmu/dut_check.h"

#include <algorithm>

namespace vmmu {

namespace {

// The first index at which the two operation lists differ, or their common length when one is a
// prefix of the other (then they differ only if the lengths do).
size_t firstDifference(const std::vector<MemOp> &a, const std::vector<MemOp> &b) {
  const size_t common = std::min(a.size(), b.size());
  return static_cast<size_t>(std::mismatch(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(common), b.begin()).first -
                             a.begin());
}

std::string result(const Response &resp, size_t ops, bool show_latency, uint64_t latency) {
  std::string out = toString(resp);
  if (show_latency)
    out += " latency " + std::to_string(latency);
  return out + ", " + std::to_string(ops) + " memory ops";
}

}  // namespace

std::string compareTranslation(const DutTranslation &dut, const TranslateResult &model, bool compare_latency) {
  const uint64_t model_latency = expectedLatency(model);
  const bool response_differs = dut.resp != model.resp;
  const bool ops_differ = dut.ops != model.ops;
  const bool latency_differs = compare_latency && dut.latency != model_latency;
  if (!response_differs && !ops_differ && !latency_differs)
    return {};

  const size_t first = firstDifference(dut.ops, model.ops);
  std::string differs;
  const auto add = [&differs](const std::string &what) { differs += (differs.empty() ? "" : ", ") + what; };
  if (response_differs)
    add("response");
  if (ops_differ)
    add("memory operations from #" + std::to_string(first));
  if (latency_differs)
    add(model.trace.walked ? "latency (a walk, §12)" : "latency (a hit or an early fault, §12)");

  std::string out = "\n  differs: " + differs;
  out += "\n  rtl:   " + result(dut.resp, dut.ops.size(), compare_latency, dut.latency);
  out += "\n  model: " + result(model.resp, model.ops.size(), compare_latency, model_latency);
  if (ops_differ) {
    // Padded so that the model's column lines up.
    constexpr size_t kColumn = 52;
    const size_t rows = std::max(dut.ops.size(), model.ops.size());
    for (size_t i = 0; i < rows; ++i) {
      std::string rtl = i < dut.ops.size() ? toString(dut.ops[i]) : "-";
      rtl.resize(std::max(rtl.size(), kColumn), ' ');
      out += std::string("\n  ") + (i == first ? ">" : " ") + "#" + std::to_string(i) + (i < 10 ? "  " : " ") +
             "rtl " + rtl + " model " + (i < model.ops.size() ? toString(model.ops[i]) : "-");
    }
  }
  return out;
}

}  // namespace vmmu
