namespace Hearth.Tokenization.Templates;

/// <summary>Expression grammar with Jinja's precedence: condexpr, or, and, not, compare, + -, ~, * / // %, **, unary, postfix, filters and tests.</summary>
internal sealed partial class Parser
{
    private static readonly string[] CompareOperators = { "==", "!=", "<", "<=", ">", ">=" };

    /// <summary>One expression, or a tuple when commas follow (`{% set a = 1, 2 %}`).</summary>
    private Expr ParseTuple(bool withCondExpr)
    {
        var start = Current;
        var items = new List<Expr>();
        bool isTuple = false;
        while (true)
        {
            if (items.Count > 0)
            {
                if (!Current.IsOperator(",")) break;
                _pos++;
                isTuple = true;
            }
            if (IsTupleEnd()) break;
            items.Add(withCondExpr ? ParseExpression() : ParseOr());
        }
        if (!isTuple)
        {
            if (items.Count == 0) throw Error(Current, $"expected an expression, got {Describe(Current)}");
            return items[0];
        }
        var (line, column) = Position(start);
        return new SequenceExpr(line, column, items, isTuple: true);
    }

    private bool IsTupleEnd() =>
        Current.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd or TokenKind.Eof
        || Current.IsOperator(")") || Current.IsOperator("]") || Current.IsName("if") || Current.IsName("recursive");

    private Expr ParseExpression()
    {
        Enter();
        try
        {
            var expr = ParseOr();
            while (Current.IsName("if"))
            {
                var (line, column) = Position(Next());
                var test = ParseOr();
                Expr? otherwise = null;
                if (Current.IsName("else"))
                {
                    _pos++;
                    otherwise = ParseExpression();
                }
                expr = new CondExpr(line, column, test, expr, otherwise);
                _sawCondExpr = true;
            }
            return expr;
        }
        finally
        {
            Exit();
        }
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Current.IsName("or"))
        {
            var (line, column) = Position(Next());
            left = new LogicalExpr(line, column, false, left, ParseAnd());
        }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (Current.IsName("and"))
        {
            var (line, column) = Position(Next());
            left = new LogicalExpr(line, column, true, left, ParseNot());
        }
        return left;
    }

    private Expr ParseNot()
    {
        if (!Current.IsName("not")) return ParseCompare();
        var (line, column) = Position(Next());
        Enter();
        try
        {
            return new UnaryExpr(line, column, "not", ParseNot());
        }
        finally
        {
            Exit();
        }
    }

    private Expr ParseCompare()
    {
        var start = Current;
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && Array.IndexOf(CompareOperators, Current.Text) >= 0)
            {
                rest.Add((Next().Text, ParseMath1()));
            }
            else if (Current.IsName("in"))
            {
                _pos++;
                rest.Add(("in", ParseMath1()));
            }
            else if (Current.IsName("not") && Peek(1).IsName("in"))
            {
                _pos += 2;
                rest.Add(("not in", ParseMath1()));
            }
            else
            {
                break;
            }
        }
        if (rest.Count == 0) return first;
        var (line, column) = Position(start);
        return new CompareExpr(line, column, first, rest);
    }

    private Expr ParseMath1() => ParseBinary(ParseConcat, "+", "-");

    private Expr ParseConcat() => ParseBinary(ParseMath2, "~");

    private Expr ParseMath2() => ParseBinary(ParsePow, "*", "/", "//", "%");

    private Expr ParsePow() => ParseBinary(() => ParseUnary(withFilter: true), "**");

    private Expr ParseBinary(Func<Expr> operand, params string[] operators)
    {
        var left = operand();
        while (Current.Kind == TokenKind.Operator && Array.IndexOf(operators, Current.Text) >= 0)
        {
            var op = Next();
            var (line, column) = Position(op);
            left = new BinaryExpr(line, column, op.Text, left, operand());
        }
        return left;
    }

    private Expr ParseUnary(bool withFilter)
    {
        Expr node;
        if (Current.IsOperator("-") || Current.IsOperator("+"))
        {
            var op = Next();
            var (line, column) = Position(op);
            Enter();
            try
            {
                node = new UnaryExpr(line, column, op.Text, ParseUnary(withFilter: false));
            }
            finally
            {
                Exit();
            }
        }
        else
        {
            node = ParsePrimary();
        }
        node = ParsePostfix(node);
        return withFilter ? ParseFilterExpr(node) : node;
    }

    private Expr ParsePrimary()
    {
        var token = Current;
        var (line, column) = Position(token);
        switch (token.Kind)
        {
            case TokenKind.Name:
                _pos++;
                return token.Text switch
                {
                    "true" or "True" => new ConstExpr(line, column, true),
                    "false" or "False" => new ConstExpr(line, column, false),
                    "none" or "None" => new ConstExpr(line, column, null),
                    _ => new NameExpr(line, column, token.Text),
                };
            case TokenKind.String:
                var text = new System.Text.StringBuilder();
                while (Current.Kind == TokenKind.String) text.Append((string)Next().Value!);
                return new ConstExpr(line, column, text.ToString());
            case TokenKind.Integer or TokenKind.Float:
                _pos++;
                return new ConstExpr(line, column, token.Value);
        }
        if (token.IsOperator("(")) return ParseParenthesized(line, column);
        if (token.IsOperator("[")) return ParseList(line, column);
        if (token.IsOperator("{")) return ParseDict(line, column);
        throw Error(token, $"unexpected {Describe(token)}");
    }

    private Expr ParseParenthesized(int line, int column)
    {
        _pos++;
        Enter();
        try
        {
            if (Current.IsOperator(")"))
            {
                _pos++;
                return new SequenceExpr(line, column, new List<Expr>(), isTuple: true);
            }
            var expr = ParseTuple(withCondExpr: true);
            ExpectOperator(")");
            return expr;
        }
        finally
        {
            Exit();
        }
    }

    private Expr ParseList(int line, int column)
    {
        _pos++;
        var items = new List<Expr>();
        while (!Current.IsOperator("]"))
        {
            if (items.Count > 0) ExpectOperator(",");
            if (Current.IsOperator("]")) break;
            items.Add(ParseExpression());
        }
        _pos++;
        return new SequenceExpr(line, column, items, isTuple: false);
    }

    private Expr ParseDict(int line, int column)
    {
        _pos++;
        var pairs = new List<(Expr, Expr)>();
        while (!Current.IsOperator("}"))
        {
            if (pairs.Count > 0) ExpectOperator(",");
            if (Current.IsOperator("}")) break;
            var key = ParseExpression();
            ExpectOperator(":");
            pairs.Add((key, ParseExpression()));
        }
        _pos++;
        return new DictExpr(line, column, pairs);
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            var token = Current;
            var (line, column) = Position(token);
            if (token.IsOperator("."))
            {
                _pos++;
                var attr = Next();
                if (attr.Kind == TokenKind.Name) node = new AttrExpr(line, column, node, attr.Text);
                else if (attr.Kind == TokenKind.Integer) node = new ItemExpr(line, column, node, new ConstExpr(line, column, attr.Value));
                else throw Error(attr, $"expected a name after '.', got {Describe(attr)}");
            }
            else if (token.IsOperator("["))
            {
                node = ParseSubscript(node, line, column);
            }
            else if (token.IsOperator("("))
            {
                node = new CallExpr(line, column, node, ParseArgs());
            }
            else
            {
                return node;
            }
        }
    }

    private Expr ParseSubscript(Expr target, int line, int column)
    {
        _pos++;
        Enter();
        try
        {
            Expr? start = null;
            if (Current.IsOperator("]"))
            {
                // Jinja accepts x[] and looks up the empty tuple.
                _pos++;
                return new ItemExpr(line, column, target, new SequenceExpr(line, column, new List<Expr>(), isTuple: true));
            }
            if (!Current.IsOperator(":"))
            {
                start = ParseExpression();
                if (Current.IsOperator(","))
                {
                    // x[a, b] indexes with the tuple (a, b), as in Python.
                    var items = new List<Expr> { start };
                    while (Current.IsOperator(","))
                    {
                        _pos++;
                        if (Current.IsOperator("]")) break;
                        items.Add(ParseExpression());
                    }
                    ExpectOperator("]");
                    return new ItemExpr(line, column, target, new SequenceExpr(line, column, items, isTuple: true));
                }
                if (!Current.IsOperator(":"))
                {
                    ExpectOperator("]");
                    return new ItemExpr(line, column, target, start);
                }
            }
            _pos++;
            Expr? stop = Current.IsOperator("]") || Current.IsOperator(":") ? null : ParseExpression();
            Expr? step = null;
            if (Current.IsOperator(":"))
            {
                _pos++;
                if (!Current.IsOperator("]")) step = ParseExpression();
            }
            ExpectOperator("]");
            return new SliceExpr(line, column, target, start, stop, step);
        }
        finally
        {
            Exit();
        }
    }
}
