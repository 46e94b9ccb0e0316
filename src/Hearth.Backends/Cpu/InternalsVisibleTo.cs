using System.Runtime.CompilerServices;

// The worker pool is an implementation detail, tested directly.
[assembly: InternalsVisibleTo("Hearth.Backends.Tests")]
