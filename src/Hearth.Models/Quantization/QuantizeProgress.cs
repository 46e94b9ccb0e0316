namespace Hearth.Models.Quantization;

/// <summary>How far a quantizer has got: tensors done out of the total, and the one just written.</summary>
public readonly record struct QuantizeProgress(int TensorsDone, int TensorCount, string TensorName);
