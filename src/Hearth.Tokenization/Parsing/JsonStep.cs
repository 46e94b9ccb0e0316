namespace Hearth.Tokenization.Parsing;

/// <summary>Result of feeding one character to an incremental JSON recognizer.</summary>
internal enum JsonStep
{
    /// <summary>The character was consumed; the value is not finished.</summary>
    Continue,

    /// <summary>The character was consumed and finished the value.</summary>
    Done,

    /// <summary>The value had already ended (a number needs a following character to end); the character was not consumed.</summary>
    DoneBefore,

    /// <summary>The character cannot continue valid JSON.</summary>
    Error,
}
