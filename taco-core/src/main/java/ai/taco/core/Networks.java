package ai.taco.core;

import ai.taco.core.nn.Conv;
import ai.taco.core.nn.ParameterStore;
import ai.taco.core.transform.AnalysisTransform;
import ai.taco.core.transform.ChannelContext;
import ai.taco.core.transform.EntropyParameters;
import ai.taco.core.transform.HyperAnalysis;
import ai.taco.core.transform.HyperSynthesis;
import ai.taco.core.transform.SynthesisTransform;

/**
 * Every convolutional/attention network of TACO, declared in the official registration order (models/taco.py):
 * g_a, g_s, h_a, h_s, local_context.i, channel_context.i (i ≥ 1), entropy_parameters_anchor.i,
 * entropy_parameters_nonanchor.i. The entropy models are separate ({@link TacoModel}).
 */
final class Networks {
  final AnalysisTransform gA;
  final SynthesisTransform gS;
  final HyperAnalysis hA;
  final HyperSynthesis hS;
  /** Per slice: 5×5 conv C_i → 2·C_i over the decoded anchors (spatial context for the non-anchors). */
  final Conv[] localContext;
  /** Per slice (index 0 unused: the first slice has no channel context). */
  final ChannelContext[] channelContext;
  final EntropyParameters[] anchorParams;
  final EntropyParameters[] nonAnchorParams;

  Networks(ParameterStore p, TacoConfig c) {
    int n = c.n();
    int m = c.m();
    int k = c.slices();
    gA = new AnalysisTransform(p, n, m, c.textDim(), c.heads());
    gS = new SynthesisTransform(p, n, m);
    hA = new HyperAnalysis(p, n, m);
    hS = new HyperSynthesis(p, n, m);
    localContext = new Conv[k];
    for (int i = 0; i < k; i++) {
      int ch = c.sliceChannels().get(i);
      localContext[i] = new Conv(p, "local_context." + i, ch, 2 * ch, 5, 1);
    }
    channelContext = new ChannelContext[k];
    for (int i = 1; i < k; i++) {
      channelContext[i] = new ChannelContext(p, "channel_context." + i, c.sliceStart(i), 2 * c.sliceChannels().get(i));
    }
    anchorParams = new EntropyParameters[k];
    for (int i = 0; i < k; i++) {
      int ch = c.sliceChannels().get(i);
      int in = i == 0 ? 2 * m : 2 * m + 2 * ch;
      anchorParams[i] = new EntropyParameters(p, "entropy_parameters_anchor." + i, in, 2 * ch);
    }
    nonAnchorParams = new EntropyParameters[k];
    for (int i = 0; i < k; i++) {
      int ch = c.sliceChannels().get(i);
      int in = i == 0 ? 2 * m + 2 * ch : 2 * m + 4 * ch;
      nonAnchorParams[i] = new EntropyParameters(p, "entropy_parameters_nonanchor." + i, in, 2 * ch);
    }
  }
}
