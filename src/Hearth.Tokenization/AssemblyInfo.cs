using System.Runtime.CompilerServices;

// The tests check the NFC normalizer and the split scanner directly against Hugging Face's outputs.
[assembly: InternalsVisibleTo("Hearth.Tokenization.Tests")]
[assembly: InternalsVisibleTo("Hearth.Bench")]
