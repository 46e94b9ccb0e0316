using System.Runtime.CompilerServices;

// The tests swap in a deliberately weak block hash to prove that hash hits are verified against tokens.
[assembly: InternalsVisibleTo("Hearth.Engine.Tests")]
