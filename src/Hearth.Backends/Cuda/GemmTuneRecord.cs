namespace Hearth.Backends.Cuda;

/// <summary>
/// One autotuned cuBLASLt shape: y[<paramref name="Rows"/>, <paramref name="OutFeatures"/>] = x · Wᵀ over
/// <paramref name="InFeatures"/>, the heuristic's first algorithm's time, the fastest candidate's time (both the
/// mean of the same few timed runs) and which of the <paramref name="NumCandidates"/> candidates won (0: the heuristic's pick).
/// </summary>
public sealed record GemmTuneRecord(int Rows, int OutFeatures, int InFeatures, int NumCandidates, int BestIndex,
    double HeuristicSeconds, double BestSeconds);
