#include "greenai/nn/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "greenai/error.h"
#include "greenai/greenai.h"
#include "greenai/track/measurements.h"
#include "greenai/util/text.h"

namespace greenai::nn {

std::string TrainProgress::to_text(bool with_bar) const {
  constexpr int kWidth = 20;
  const int filled = steps ? static_cast<int>(kWidth * step / steps) : 0;
  const std::string bar =
      with_bar ? "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] " : "";
  char text[256];
  std::snprintf(text, sizeof text, "epoch %d/%d %s%3d%% loss %.4f, %.0f ex/s, %s left", epoch,
                epochs, bar.c_str(), steps ? static_cast<int>(100 * step / steps) : 0, loss,
                examples_per_s, util::format_duration(eta_s).c_str());
  return text;
}
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(Net& net, const TrainOptions& o) {
  if (o.optimizer == "adam")
    return std::make_unique<torch::optim::Adam>(
        net->parameters(), torch::optim::AdamOptions(o.learning_rate).weight_decay(o.weight_decay));
  if (o.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        net->parameters(),
        torch::optim::SGDOptions(o.learning_rate).momentum(0.9).weight_decay(o.weight_decay));
  throw Error("cannot train (--optimizer=" + o.optimizer + ")", "unknown optimizer",
              "use adam or sgd");
}

// The tracker's running total of phase `name` (empty before its first use).
track::Record phase_total(const track::Tracker& tracker, const std::string& name) {
  for (const auto& p : tracker.phases())
    if (p.phase == name) return p;
  return {};
}

}  // namespace

LossFn cross_entropy_loss() {
  return [](const torch::Tensor& logits, const Batch& batch) {
    return torch::nn::functional::cross_entropy(logits.to(torch::kFloat32), batch.labels);
  };
}

torch::Tensor predict_logits(Net& net, const Dataset& data, int64_t batch_size,
                             torch::Device device) {
  torch::NoGradGuard no_grad;
  net->eval();
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < data.size(); start += batch_size) {
    int64_t n = std::min(batch_size, data.size() - start);
    parts.push_back(
        net->forward(data.images.narrow(0, start, n).to(device)).to(torch::kFloat32).cpu());
  }
  return torch::cat(parts);
}

EvalReport evaluate(Net& net, const Dataset& data, int64_t batch_size, Precision precision,
                    torch::Device device, track::Tracker* tracker, const std::string& phase) {
  torch::NoGradGuard no_grad;
  net->eval();
  EvalReport report;
  // A phase used again (one evaluation per epoch) accumulates: this call's share is the difference.
  const track::Record previous = tracker ? phase_total(*tracker, phase) : track::Record{};
  if (tracker) tracker->begin_phase(phase);
  auto start = Clock::now();
  int64_t correct = 0;
  double loss_sum = 0;
  for (int64_t offset = 0; offset < data.size(); offset += batch_size) {
    int64_t n = std::min(batch_size, data.size() - offset);
    torch::Tensor images = data.images.narrow(0, offset, n).to(device);
    torch::Tensor labels = data.labels.narrow(0, offset, n).to(device);
    torch::Tensor logits;
    {
      AutocastScope autocast(precision, device.type());
      logits = net->forward(images);
    }
    logits = logits.to(torch::kFloat32);
    loss_sum +=
        torch::nn::functional::cross_entropy(
            logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
            .item<double>();
    correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
  }
  report.seconds = seconds_since(start);
  if (tracker) {
    tracker->end_phase();
    const track::Record after = phase_total(*tracker, phase);
    for (size_t c = 0; c < 3; ++c)
      report.energy.joules[c] = after.tree.joules[c] - previous.tree.joules[c];
    report.emissions_kg = after.emissions_kg - previous.emissions_kg;
  }
  report.examples = data.size();
  report.accuracy = data.size() ? static_cast<double>(correct) / data.size() : 0;
  report.loss = data.size() ? loss_sum / data.size() : 0;
  return report;
}

TrainReport train(Net& net, const Dataset& train_set, const Dataset& test_set,
                  const LossFn& loss_fn, const TrainOptions& o) {
  if (o.epochs <= 0)
    throw Error("cannot train (--epochs=" + std::to_string(o.epochs) + ")", "must be positive");
  if (o.batch_size <= 0)
    throw Error("cannot train (--batch=" + std::to_string(o.batch_size) + ")", "must be positive");
  check_precision_supported(o.precision, o.device);
  torch::manual_seed(o.seed);
  net->to(o.device);
  auto optimizer = make_optimizer(net, o);
  if (o.schedule != "cosine" && o.schedule != "constant")
    throw Error("cannot train (--schedule=" + o.schedule + ")", "unknown schedule",
                "use cosine or constant");
  const bool scaled = o.precision == Precision::kFp16;
  LossScaler scaler;
  std::vector<torch::Tensor> parameters = net->parameters();

  TrainReport report;
  const int64_t n = train_set.size();
  const int64_t steps = (n + o.batch_size - 1) / o.batch_size;
  auto run_start = Clock::now();
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    const std::string phase = "train epoch " + std::to_string(epoch);
    if (o.tracker) o.tracker->begin_phase(phase);
    net->train();
    auto epoch_start = Clock::now();
    torch::Tensor order = torch::randperm(n, torch::TensorOptions().dtype(torch::kInt64));
    double loss_sum = 0;
    for (int64_t step = 0; step < steps; ++step) {
      int64_t count = std::min(o.batch_size, n - step * o.batch_size);
      Batch batch;
      batch.indices = order.narrow(0, step * o.batch_size, count);
      batch.images = train_set.images.index_select(0, batch.indices).to(o.device);
      batch.labels = train_set.labels.index_select(0, batch.indices).to(o.device);
      if (o.schedule == "cosine") {
        // Cosine annealing (Loshchilov and Hutter, SGDR, 2017) without restarts.
        const double progress =
            static_cast<double>((epoch - 1) * steps + step) / (o.epochs * steps);
        for (auto& group : optimizer->param_groups())
          group.options().set_lr(o.learning_rate * 0.5 * (1.0 + std::cos(M_PI * progress)));
      }
      torch::Tensor loss;
      {
        AutocastScope autocast(o.precision, o.device.type());
        loss = loss_fn(net->forward(batch.images), batch);
      }
      optimizer->zero_grad();
      if (scaled) {
        scaler.scale(loss).backward();
        if (o.after_backward) o.after_backward(net);
        scaler.step(*optimizer, parameters);
      } else {
        loss.backward();
        if (o.after_backward) o.after_backward(net);
        optimizer->step();
      }
      if (o.after_step) o.after_step(net);
      loss_sum += loss.item<double>();  // waits for the step: its end is now
      // Under `greenai tune --knob threads -- greenai train ...`, the step is reported and the
      // thread count asked for applied; elsewhere this is a no-op.
      if (const int threads = greenai_step(); threads > 0 && threads != torch::get_num_threads())
        torch::set_num_threads(threads);
      if (o.on_progress) {
        // Throughput of this epoch so far; the time left at the mean step time of the run.
        const double epoch_s = seconds_since(epoch_start);
        double trained_s = epoch_s;
        for (const auto& done : report.epochs) trained_s += done.seconds;
        const double done_steps = static_cast<double>((epoch - 1) * steps + step + 1);
        const double left_steps = static_cast<double>(o.epochs) * steps - done_steps;
        const double examples = static_cast<double>(std::min(n, (step + 1) * o.batch_size));
        o.on_progress({epoch, o.epochs, step + 1, steps, loss_sum / (step + 1),
                       epoch_s > 0 ? examples / epoch_s : 0, trained_s / done_steps * left_steps});
      }
    }
    EpochReport e;
    e.epoch = epoch;
    e.train_loss = loss_sum / steps;
    e.seconds = seconds_since(epoch_start);
    e.examples_per_s = n / e.seconds;
    if (o.tracker) {
      o.tracker->end_phase();
      const track::Record record = phase_total(*o.tracker, phase);
      e.energy = record.tree;
      e.emissions_kg = record.emissions_kg;
    }
    if (o.evaluate_every_epoch || epoch == o.epochs)
      e.test = evaluate(net, test_set, 1000, o.precision, o.device, o.tracker);
    report.energy += e.energy;
    report.emissions_kg += e.emissions_kg;
    report.epochs.push_back(e);
  }
  report.seconds = seconds_since(run_start);
  double train_seconds = 0;
  for (const auto& e : report.epochs) train_seconds += e.seconds;
  report.examples_per_s = static_cast<double>(n) * o.epochs / train_seconds;
  report.final_test = report.epochs.back().test;
  report.skipped_steps = scaler.skipped_steps();
  return report;
}

util::Json EvalReport::to_json() const {
  return util::Json::object()
      .set("accuracy", accuracy)
      .set("loss", loss)
      .set("examples", examples)
      .set("seconds", seconds)
      .set("energy", track::energy_to_json(energy, emissions_kg));
}

util::Json TrainReport::to_json() const {
  util::Json list = util::Json::array();
  for (const auto& e : epochs) {
    util::Json j = util::Json::object()
                       .set("epoch", e.epoch)
                       .set("train_loss", e.train_loss)
                       .set("seconds", e.seconds)
                       .set("examples_per_s", e.examples_per_s)
                       .set("energy", track::energy_to_json(e.energy, e.emissions_kg));
    if (e.test.examples) j.set("test", e.test.to_json());
    list.push(j);
  }
  return util::Json::object()
      .set("epochs", list)
      .set("seconds", seconds)
      .set("examples_per_s", examples_per_s)
      .set("energy", track::energy_to_json(energy, emissions_kg))
      .set("test", final_test.to_json())
      .set("skipped_fp16_steps", skipped_steps);
}

util::Json TrainOptions::to_json() const {
  return util::Json::object()
      .set("epochs", epochs)
      .set("batch", batch_size)
      .set("lr", learning_rate)
      .set("optimizer", optimizer)
      .set("schedule", schedule)
      .set("precision", to_string(precision))
      .set("seed", static_cast<double>(seed))
      .set("threads", torch::get_num_threads());
}

}  // namespace greenai::nn
