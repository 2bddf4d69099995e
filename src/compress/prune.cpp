#include "greenai/compress/prune.h"

#include <cmath>

#include "greenai/error.h"

namespace greenai::compress {
namespace {

void check_sparsity(double sparsity) {
  if (!(sparsity >= 0 && sparsity < 1))
    throw Error("cannot prune (--sparsity=" + std::to_string(sparsity) + ")", "must be in [0, 1)",
                "0.9 removes 90 % of the weights");
}

bool weighted(nn::LayerKind kind) {
  return kind == nn::LayerKind::kLinear || kind == nn::LayerKind::kConv2d;
}

// Indices of weighted layers, in order.
std::vector<size_t> weighted_layers(const nn::ModelSpec& spec) {
  std::vector<size_t> indices;
  for (size_t i = 0; i < spec.layers.size(); ++i)
    if (weighted(spec.layers[i].kind)) indices.push_back(i);
  return indices;
}

// The spec with each hidden weighted layer's outputs cut to `keep`, the next layer's inputs
// following (H x W inputs per channel where a convolution is flattened into a Linear layer).
nn::ModelSpec shrink_spec(const nn::ModelSpec& spec, const std::vector<int64_t>& keep) {
  nn::ModelSpec out = spec;
  std::vector<size_t> w = weighted_layers(spec);
  for (size_t k = 0; k < w.size(); ++k) {
    nn::LayerSpec& l = out.layers[w[k]];
    if (k > 0) {
      const int64_t inputs_per_unit = spec.layers[w[k]].in / spec.layers[w[k - 1]].out;
      l.in = out.layers[w[k - 1]].out * inputs_per_unit;
    }
    if (k + 1 < w.size()) l.out = keep[k];
  }
  out.validate();
  return out;
}

}  // namespace

int64_t prunable_weight_count(const nn::ModelSpec& spec) {
  int64_t n = 0;
  for (const nn::LayerSpec& l : spec.layers) {
    if (l.kind == nn::LayerKind::kLinear) n += l.in * l.out;
    if (l.kind == nn::LayerKind::kConv2d) n += l.in * l.out * l.kernel * l.kernel;
  }
  return n;
}

void Masks::apply() const {
  torch::NoGradGuard no_grad;
  for (const auto& [weight, mask] : weight_and_mask) weight.mul_(mask);
}

double Masks::sparsity() const {
  double zero = 0, total = 0;
  for (const auto& [weight, mask] : weight_and_mask) {
    total += static_cast<double>(mask.numel());
    zero += static_cast<double>(mask.numel()) - mask.sum().item<double>();
  }
  return total > 0 ? zero / total : 0;
}

Masks magnitude_prune(nn::Net& net, double sparsity) {
  check_sparsity(sparsity);
  Masks masks;
  std::vector<torch::Tensor> weights;
  for (size_t i = 0; i < net->spec().layers.size(); ++i) {
    if (!weighted(net->spec().layers[i].kind)) continue;
    for (const auto& p : net->layer(i)->named_parameters(false))
      if (p.key() == "weight") weights.push_back(p.value());
  }
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat;
  for (const auto& w : weights) flat.push_back(w.detach().abs().flatten());
  torch::Tensor all = torch::cat(flat);
  const int64_t prune_count =
      static_cast<int64_t>(std::floor(sparsity * static_cast<double>(all.numel())));
  // Rank globally; ties at the threshold are broken by position so exactly prune_count go.
  torch::Tensor keep = torch::ones_like(all);
  if (prune_count > 0)
    keep.index_put_({std::get<1>(all.topk(prune_count, 0, /*largest=*/false))}, 0.0);
  int64_t offset = 0;
  for (const auto& w : weights) {
    torch::Tensor mask = keep.narrow(0, offset, w.numel()).view_as(w).clone();
    offset += w.numel();
    masks.weight_and_mask.emplace_back(w, mask);
  }
  masks.apply();
  return masks;
}

std::vector<int64_t> structured_keep_counts(const nn::ModelSpec& spec, double sparsity) {
  check_sparsity(sparsity);
  std::vector<size_t> w = weighted_layers(spec);
  if (w.size() < 2) throw Error("cannot prune structurally", "the model has no hidden layer");
  const double target = (1.0 - sparsity) * static_cast<double>(prunable_weight_count(spec));
  auto counts_for = [&](double ratio) {
    std::vector<int64_t> keep;
    for (size_t k = 0; k + 1 < w.size(); ++k)
      keep.push_back(
          std::max<int64_t>(1, std::llround(ratio * static_cast<double>(spec.layers[w[k]].out))));
    return keep;
  };
  // The weight count grows with the keep ratio: bisect for the target.
  double lo = 0, hi = 1;
  for (int iteration = 0; iteration < 60; ++iteration) {
    double mid = (lo + hi) / 2;
    (static_cast<double>(prunable_weight_count(shrink_spec(spec, counts_for(mid)))) > target ? hi
                                                                                             : lo) =
        mid;
  }
  return counts_for(lo);
}

nn::Net structured_prune(const nn::Net& net, double sparsity) {
  const nn::ModelSpec& spec = net->spec();
  std::vector<int64_t> keep_counts = structured_keep_counts(spec, sparsity);
  nn::ModelSpec small_spec = shrink_spec(spec, keep_counts);
  small_spec.arch = spec.arch + "-pruned";
  nn::Net small(small_spec);
  std::vector<size_t> w = weighted_layers(spec);
  torch::NoGradGuard no_grad;
  torch::Tensor kept_inputs;  // Indices of the previous layer's kept units (undefined: all).
  for (size_t k = 0; k < w.size(); ++k) {
    const nn::LayerSpec& l = spec.layers[w[k]];
    auto source = net->layer(w[k])->named_parameters(false);
    auto target = small->layer(w[k])->named_parameters(false);
    torch::Tensor weight = source["weight"].detach();
    torch::Tensor bias = source["bias"].detach();
    if (kept_inputs.defined()) {
      if (l.kind == nn::LayerKind::kLinear &&
          spec.layers[w[k - 1]].kind == nn::LayerKind::kConv2d) {
        // Flattened C x H x W: each kept channel c brings its H*W columns.
        const int64_t per_channel = l.in / spec.layers[w[k - 1]].out;
        torch::Tensor columns = (kept_inputs.unsqueeze(1) * per_channel +
                                 torch::arange(per_channel, torch::kInt64).unsqueeze(0))
                                    .flatten();
        weight = weight.index_select(1, columns);
      } else {
        weight = weight.index_select(1, kept_inputs);
      }
    }
    if (k + 1 < w.size()) {
      // L1 norm of each output unit's incoming weights (a row, or a whole filter).
      torch::Tensor importance = weight.abs().flatten(1).sum(1);
      torch::Tensor kept = std::get<0>(std::get<1>(importance.topk(keep_counts[k])).sort());
      weight = weight.index_select(0, kept);
      bias = bias.index_select(0, kept);
      kept_inputs = kept;
    }
    target["weight"].copy_(weight);
    target["bias"].copy_(bias);
  }
  return small;
}

}  // namespace greenai::compress
