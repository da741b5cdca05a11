// analysis_port.h - UVM's analysis port / subscriber pattern: a monitor broadcasts each
// transaction to every connected subscriber (scoreboard, coverage) through a virtual write().
#pragma once

#include <vector>

namespace vmmu::tb {

template <typename T> class AnalysisImp {
public:
  virtual ~AnalysisImp() = default;
  virtual void write(const T &transaction) = 0;
};

template <typename T> class AnalysisPort {
public:
  void connect(AnalysisImp<T> &subscriber) { subscribers_.push_back(&subscriber); }
  void write(const T &transaction) const {
    for (AnalysisImp<T> *subscriber : subscribers_)
      subscriber->write(transaction);
  }
  bool connected() const { return !subscribers_.empty(); }

private:
  std::vector<AnalysisImp<T> *> subscribers_;
};

}  // namespace vmmu::tb
