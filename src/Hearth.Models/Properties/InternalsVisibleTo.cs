using System.Runtime.CompilerServices;

// Placement policies (e.g. where the CUDA embedding table lives) are decided by small internal functions, tested directly.
[assembly: InternalsVisibleTo("Hearth.Models.Tests")]
