#include "greenai/compress/distill.h"

#include <cmath>

#include "greenai/error.h"

namespace greenai::compress {

void validate(const DistillOptions& o) {
  if (!(std::isfinite(o.temperature) && o.temperature > 0))
    throw Error("cannot distill (--temperature=" + std::to_string(o.temperature) + ")",
                "must be positive");
  if (!(o.alpha >= 0 && o.alpha <= 1))
    throw Error("cannot distill (--alpha=" + std::to_string(o.alpha) + ")",
                "must be between 0 and 1");
}

torch::Tensor distillation_loss(const torch::Tensor& student_logits,
                                const torch::Tensor& teacher_logits, const torch::Tensor& labels,
                                const DistillOptions& o) {
  const torch::Tensor s = student_logits.to(torch::kFloat32);
  const torch::Tensor t = teacher_logits.to(torch::kFloat32).detach();
  const double T = o.temperature;
  const int64_t batch = s.size(0);
  // KL(p_t || p_s) = sum p_t (log p_t - log p_s), in log space for stability.
  const torch::Tensor log_p_s = torch::log_softmax(s / T, 1);
  const torch::Tensor log_p_t = torch::log_softmax(t / T, 1);
  const torch::Tensor kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum() / batch;
  const torch::Tensor hard = torch::nn::functional::cross_entropy(s, labels);
  return o.alpha * T * T * kl + (1.0 - o.alpha) * hard;
}

nn::LossFn distillation_loss_fn(torch::Tensor teacher_logits, DistillOptions options) {
  validate(options);
  return [teacher_logits = std::move(teacher_logits), options](const torch::Tensor& logits,
                                                               const nn::Batch& batch) {
    torch::Tensor t = teacher_logits.index_select(0, batch.indices.cpu()).to(logits.device());
    return distillation_loss(logits, t, batch.labels, options);
  };
}

}  // namespace greenai::compress
