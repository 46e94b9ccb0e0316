using System.Diagnostics;
using System.Text;
using Hearth.Core;
using Hearth.Tokenization;

namespace Hearth.Bench;

/// <summary>
/// Single-threaded encoding speed on a few MB of generated mixed English/Chinese text: the first pass over a fresh
/// tokenizer (empty piece cache) and the steady state once the cache is warm. Also load time and decode speed.
/// Usage: tokenizer --model DIR [--megabytes N]
/// </summary>
public static class TokenizerBench
{
    public static int Run(string[] args)
    {
        string? model = null;
        double megabytes = 4;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--model" && i + 1 < args.Length) model = args[++i];
            else if (args[i] == "--megabytes" && i + 1 < args.Length) megabytes = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        }
        if (model is null)
        {
            Console.Error.WriteLine("usage: tokenizer --model DIR [--megabytes N]");
            return 2;
        }

        try
        {
            var load = Stopwatch.StartNew();
            var tokenizer1 = Tokenizer.Load(model);
            load.Stop();
            Console.WriteLine($"load: {load.Elapsed.TotalMilliseconds:F0} ms (vocab {tokenizer1.VocabSize})");

            var paragraphs = MixedCorpus.Generate(tokenizer1, (long)(megabytes * 1024 * 1024));
            long bytes = paragraphs.Sum(p => (long)Encoding.UTF8.GetByteCount(p));
            Console.WriteLine($"corpus: {paragraphs.Count} paragraphs, {bytes / 1048576.0:F2} MB UTF-8");
            var first = EncodeAll(tokenizer1, paragraphs, bytes);
            var tokenizer2 = Tokenizer.Load(model);

            // Warm the JIT on a separate instance so that the first measured pass shows the cold cache alone.
            var warmup = Tokenizer.Load(model);
            foreach (var p in paragraphs.Take(paragraphs.Count / 8)) warmup.Encode(p);
            Console.WriteLine($"encode, first pass in a fresh process (JIT + cold cache): {first.MegabytesPerSecond:F2} MB/s " +
                $"({first.CpuMegabytesPerSecond:F2} MB/s of CPU time)");

            long tokenCount = 0;
            for (int pass = 1; pass <= 3; pass++)
            {
                var (mbPerSecond, cpuMbPerSecond, tokensPerSecond, tokens) = EncodeAll(tokenizer2, paragraphs, bytes);
                tokenCount = tokens;
                string label = pass == 1 ? "encode, first pass (cold cache)" : $"encode, pass {pass} (warm cache)";
                Console.WriteLine($"{label}: {mbPerSecond:F2} MB/s ({cpuMbPerSecond:F2} MB/s of CPU time), " +
                    $"{tokensPerSecond / 1e6:F2} M tokens/s, {tokens} tokens");
            }
            var tokenizer = tokenizer2;

            var allIds = paragraphs.Select(p => tokenizer.Encode(p)).ToList();
            var decode = Stopwatch.StartNew();
            foreach (var p in allIds) tokenizer.Decode(p);
            decode.Stop();
            Console.WriteLine($"decode: {bytes / 1048576.0 / decode.Elapsed.TotalSeconds:F2} MB/s");

            var stream = Stopwatch.StartNew();
            foreach (var p in allIds)
            {
                var detok = new IncrementalDetokenizer(tokenizer);
                foreach (int id in p) detok.Push(id);
                detok.Flush();
            }
            stream.Stop();
            Console.WriteLine($"incremental detokenize: {tokenCount / stream.Elapsed.TotalSeconds / 1e6:F2} M tokens/s");
            return 0;
        }
        catch (HearthException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
    }

    // Rates by wall time and by this thread's CPU time: the machine is shared, and CPU time is the steadier
    // measure of the single-threaded cost when other processes compete for the cores.
    private static (double MegabytesPerSecond, double CpuMegabytesPerSecond, double TokensPerSecond, long Tokens) EncodeAll(
        Tokenizer tokenizer, List<string> paragraphs, long bytes)
    {
        var ids = new List<int>(1 << 16);
        long tokens = 0;
        var cpuStart = ThreadCpuTime();
        var sw = Stopwatch.StartNew();
        foreach (var p in paragraphs)
        {
            ids.Clear();
            tokenizer.Encode(p, ids);
            tokens += ids.Count;
        }
        sw.Stop();
        double cpuSeconds = (ThreadCpuTime() - cpuStart).TotalSeconds;
        double megabytes = bytes / 1048576.0;
        return (megabytes / sw.Elapsed.TotalSeconds, megabytes / cpuSeconds, tokens / sw.Elapsed.TotalSeconds, tokens);
    }

    private static TimeSpan ThreadCpuTime()
    {
        // /proc/thread-self/stat fields 14 and 15: user and system time of this thread in clock ticks (100 Hz).
        string stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11]) + long.Parse(fields[12]);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    /// <summary>
    /// Deterministic mixed English/Chinese paragraphs built from the tokenizer's own vocabulary (English words and
    /// Chinese tokens drawn at random), with digits, punctuation and newlines, so that Chinese runs rarely repeat.
    /// </summary>
    private static class MixedCorpus
    {
        public static List<string> Generate(Tokenizer tokenizer, long targetBytes)
        {
            var english = new List<string>();
            var chinese = new List<string>();
            for (int id = 0; id < tokenizer.VocabSize; id++)
            {
                if (tokenizer.IsSpecial(id)) continue;
                string text = tokenizer.Decode([id]);
                if (text.Length >= 4 && text[0] == ' ' && text.Skip(1).All(char.IsAsciiLetterLower)) english.Add(text[1..]);
                else if (text.Length is >= 1 and <= 3 && text.All(c => c >= 0x4E00 && c <= 0x9FFF)) chinese.Add(text);
            }

            var random = new Random(42);
            var paragraphs = new List<string>();
            var sb = new StringBuilder();
            long bytes = 0;
            while (bytes < targetBytes)
            {
                sb.Clear();
                int sentences = random.Next(3, 9);
                for (int s = 0; s < sentences; s++)
                {
                    if (random.Next(2) == 0) AppendEnglish(sb, english, random);
                    else AppendChinese(sb, chinese, english, random);
                }
                sb.Append('\n');
                string paragraph = sb.ToString();
                paragraphs.Add(paragraph);
                bytes += Encoding.UTF8.GetByteCount(paragraph);
            }
            return paragraphs;
        }

        private static void AppendEnglish(StringBuilder sb, List<string> words, Random random)
        {
            int count = random.Next(6, 20);
            for (int i = 0; i < count; i++)
            {
                string word = words[random.Next(words.Count)];
                if (i == 0) word = char.ToUpperInvariant(word[0]) + word[1..];
                sb.Append(word);
                if (random.Next(12) == 0) sb.Append(' ').Append(random.Next(1, 5000));
                sb.Append(i == count - 1 ? (random.Next(4) == 0 ? "? " : ". ") : random.Next(10) == 0 ? ", " : " ");
            }
        }

        private static void AppendChinese(StringBuilder sb, List<string> tokens, List<string> english, Random random)
        {
            int clauses = random.Next(1, 4);
            for (int c = 0; c < clauses; c++)
            {
                int count = random.Next(3, 12);
                for (int i = 0; i < count; i++) sb.Append(tokens[random.Next(tokens.Count)]);
                if (random.Next(5) == 0) sb.Append(' ').Append(english[random.Next(english.Count)]).Append(' ');
                if (random.Next(6) == 0) sb.Append(random.Next(1, 100)).Append('%');
                sb.Append(c == clauses - 1 ? "。" : "，");
            }
        }
    }
}
