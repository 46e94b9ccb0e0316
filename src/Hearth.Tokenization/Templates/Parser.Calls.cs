namespace Hearth.Tokenization.Templates;

/// <summary>Call arguments, filters (`x | f(a)`) and tests (`x is t a`).</summary>
internal sealed partial class Parser
{
    /// <summary>`(a, b, name=c)`, starting at the opening parenthesis.</summary>
    private ArgList ParseArgs()
    {
        ExpectOperator("(");
        Enter();
        try
        {
            var positional = new List<Expr>();
            var named = new List<NamedArg>();
            while (!Current.IsOperator(")"))
            {
                if (positional.Count + named.Count > 0) ExpectOperator(",");
                if (Current.IsOperator(")")) break;
                if (Current.IsOperator("*") || Current.IsOperator("**")) throw Error(Current, "*args and **kwargs are not supported");
                if (Current.Kind == TokenKind.Name && Peek(1).IsOperator("="))
                {
                    string name = Next().Text;
                    _pos++;
                    named.Add(new NamedArg(name, ParseExpression()));
                }
                else
                {
                    if (named.Count > 0) throw Error(Current, "positional argument follows keyword argument");
                    positional.Add(ParseExpression());
                }
            }
            _pos++;
            return new ArgList(positional, named);
        }
        finally
        {
            Exit();
        }
    }

    private Expr ParseFilterExpr(Expr node)
    {
        while (true)
        {
            if (Current.IsOperator("|"))
            {
                _pos++;
                node = ParseFilter(node);
            }
            else if (Current.IsName("is"))
            {
                node = ParseTest(node);
            }
            else if (Current.IsOperator("("))
            {
                var (line, column) = Position(Current);
                node = new CallExpr(line, column, node, ParseArgs());
            }
            else
            {
                return node;
            }
        }
    }

    private FilterExpr ParseFilter(Expr? target)
    {
        var nameToken = Current;
        var (line, column) = Position(nameToken);
        string name = ExpectName();
        while (Current.IsOperator(".") && Peek(1).Kind == TokenKind.Name)
        {
            _pos++;
            name += "." + Next().Text;
        }
        if (!Filters.Exists(name)) NoteUnknownName(nameToken, $"no filter named '{name}'");
        var args = Current.IsOperator("(") ? ParseArgs() : ArgList.None;
        return new FilterExpr(line, column, target, name, args);
    }

    private Expr ParseTest(Expr target)
    {
        var (line, column) = Position(Next());
        bool negated = false;
        if (Current.IsName("not"))
        {
            _pos++;
            negated = true;
        }
        var nameToken = Current;
        string name = ExpectName();
        if (!TestFunctions.Exists(name)) NoteUnknownName(nameToken, $"no test named '{name}'");
        ArgList args = ArgList.None;
        if (Current.IsOperator("("))
        {
            args = ParseArgs();
        }
        else if ((Current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                  || Current.IsOperator("[") || Current.IsOperator("{"))
                 && !Current.IsName("else") && !Current.IsName("or") && !Current.IsName("and") && !Current.IsName("if"))
        {
            if (Current.IsName("is")) throw Error(Current, "you cannot chain multiple tests with is");
            var arg = ParsePostfix(ParsePrimary());
            args = new ArgList(new List<Expr> { arg }, new List<NamedArg>());
        }
        return new TestExpr(line, column, target, name, args, negated);
    }
}
