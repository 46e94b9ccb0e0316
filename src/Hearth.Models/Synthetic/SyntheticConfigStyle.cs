namespace Hearth.Models.Synthetic;

/// <summary>Which generation of Hugging Face config.json a synthetic checkpoint is written as.</summary>
public enum SyntheticConfigStyle
{
    /// <summary>transformers 4.x: top-level "rope_theta" and "rope_scaling" (null or a dict), "torch_dtype".</summary>
    Transformers4,

    /// <summary>transformers 5.x: a "rope_parameters" dict holding rope_theta and rope_type, "dtype".</summary>
    Transformers5,
}
