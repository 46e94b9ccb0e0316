using System.CommandLine;
using System.Text;
using Hearth.Tokenization;

namespace Hearth.Cli;

/// <summary>`hearth tokenize --model DIR --file F`: the token ids of a UTF-8 text file, no special tokens added.</summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder with tokenizer.json", Required = true };
        var file = new Option<string>("--file") { Description = "UTF-8 text file to tokenize", Required = true };
        var command = new Command("tokenize", "Print the JSON array of token ids of a text file");
        command.Options.Add(model);
        command.Options.Add(file);
        command.SetAction(parse =>
        {
            var tokenizer = ModelPaths.LoadTokenizer(parse.GetValue(model)!);
            var text = File.ReadAllText(ModelPaths.RequireFile(parse.GetValue(file)!, "input file"), Encoding.UTF8);
            var ids = tokenizer.Encode(text);
            Console.Out.Write('[');
            Console.Out.Write(string.Join(',', ids));
            Console.Out.WriteLine(']');
            return 0;
        });
        return command;
    }
}
