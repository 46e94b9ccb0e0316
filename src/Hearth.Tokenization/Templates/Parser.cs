using System.Runtime.CompilerServices;

namespace Hearth.Tokenization.Templates;

/// <summary>Recursive-descent parser for Jinja statements; expressions are in Parser.Expressions.cs.</summary>
internal sealed partial class Parser
{
    /// <summary>How deeply blocks and bracketed expressions may nest; keeps the parser's recursion bounded.</summary>
    public const int MaxNesting = 100;

    private static readonly string[] NoEnd = Array.Empty<string>();

    private readonly List<Token> _tokens;
    private readonly SourceMap _map;
    private int _pos;
    private int _nesting;
    private int _loopDepth;
    private int _ifDepth;
    private bool _sawCondExpr;
    private TemplateException? _unknownName;

    private Parser(List<Token> tokens, SourceMap map)
    {
        _tokens = tokens;
        _map = map;
    }

    public static List<Stmt> ParseTemplate(string source, SourceMap map)
    {
        var parser = new Parser(Lexer.Tokenize(source, map), map);
        return parser.ParseBody(NoEnd, out _);
    }

    private Token Current => _tokens[_pos];

    private Token Peek(int ahead) => _tokens[Math.Min(_pos + ahead, _tokens.Count - 1)];

    private Token Next() => _tokens[_pos++];

    private TemplateException Error(Token at, string message) => _map.Error(at.Offset, message);

    private (int Line, int Column) Position(Token token) => _map.Locate(token.Offset);

    private static string Describe(Token token) => token.Kind switch
    {
        TokenKind.Eof => "end of template",
        TokenKind.BlockEnd => "end of statement block",
        TokenKind.VariableEnd => "end of print statement",
        _ => $"'{token.Text}'",
    };

    private void ExpectOperator(string op)
    {
        if (!Current.IsOperator(op)) throw Error(Current, $"expected '{op}', got {Describe(Current)}");
        _pos++;
    }

    private void ExpectBlockEnd()
    {
        if (Current.Kind != TokenKind.BlockEnd) throw Error(Current, $"expected end of statement block, got {Describe(Current)}");
        _pos++;
        FlushUnknownName();
    }

    /// <summary>
    /// Jinja 3 reports an unknown filter or test when compiling, except inside an if block or an inline if,
    /// where it only fails if evaluated. Names seen in a tag are checked when the tag ends.
    /// </summary>
    private void NoteUnknownName(Token at, string message)
    {
        if (_ifDepth == 0) _unknownName ??= Error(at, message);
    }

    private void FlushUnknownName()
    {
        var pending = _unknownName;
        bool soft = _sawCondExpr;
        _unknownName = null;
        _sawCondExpr = false;
        if (pending is not null && !soft) throw pending;
    }

    private string ExpectName()
    {
        if (Current.Kind != TokenKind.Name) throw Error(Current, $"expected a name, got {Describe(Current)}");
        return Next().Text;
    }

    private void Enter()
    {
        if (++_nesting > MaxNesting) throw Error(Current, "template nested too deeply");
        try
        {
            RuntimeHelpers.EnsureSufficientExecutionStack();
        }
        catch (InsufficientExecutionStackException)
        {
            throw Error(Current, "template nested too deeply");
        }
    }

    private void Exit() => _nesting--;

    /// <summary>Parses statements until a block tag named in endTags (consumed up to its name) or the end.</summary>
    private List<Stmt> ParseBody(string[] endTags, out string endTag)
    {
        var body = new List<Stmt>();
        while (true)
        {
            var token = Current;
            var (line, column) = Position(token);
            switch (token.Kind)
            {
                case TokenKind.Eof:
                    if (endTags.Length > 0)
                        throw Error(token, $"unexpected end of template, expected '{string.Join("' or '", endTags)}'");
                    endTag = "";
                    return body;
                case TokenKind.Data:
                    body.Add(new TextStmt(line, column, token.Text));
                    _pos++;
                    break;
                case TokenKind.VariableBegin:
                    _pos++;
                    var expr = ParseTuple(withCondExpr: true);
                    if (Current.Kind != TokenKind.VariableEnd) throw Error(Current, $"expected end of print statement, got {Describe(Current)}");
                    _pos++;
                    FlushUnknownName();
                    body.Add(new OutputStmt(line, column, expr));
                    break;
                case TokenKind.BlockBegin:
                    var name = Peek(1);
                    if (name.Kind != TokenKind.Name) throw Error(name, "expected a tag name");
                    if (Array.IndexOf(endTags, name.Text) >= 0)
                    {
                        _pos += 2;
                        endTag = name.Text;
                        return body;
                    }
                    body.Add(ParseStatement());
                    break;
                default:
                    throw Error(token, $"unexpected {Describe(token)}");
            }
        }
    }

    private Stmt ParseStatement()
    {
        var begin = Next();
        var (line, column) = Position(begin);
        var name = Next();
        Enter();
        try
        {
            switch (name.Text)
            {
                case "if": return ParseIf(line, column);
                case "for": return ParseFor(line, column);
                case "set": return ParseSet(line, column);
                case "macro": return ParseMacro(line, column);
                case "with": return ParseWith(line, column);
                case "filter":
                    var filters = ParseFilterChain(requireFirst: true);
                    return new FilterBlockStmt(line, column, filters, ParseBlockBody("endfilter"));
                case "generation":
                    ExpectBlockEnd();
                    return new FilterBlockStmt(line, column, new List<FilterExpr>(), ParseBlockBody("endgeneration"));
                case "break" or "continue":
                    if (_loopDepth == 0) throw Error(name, $"'{name.Text}' outside of a loop");
                    ExpectBlockEnd();
                    return new LoopControlStmt(line, column, name.Text == "break" ? Flow.Break : Flow.Continue);
                default:
                    bool isEnd = name.Text.StartsWith("end", StringComparison.Ordinal) || name.Text is "elif" or "else";
                    throw Error(name, isEnd ? $"unexpected '{name.Text}'" : $"unknown tag '{name.Text}'");
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Body up to `{% endTag %}`, consuming the end tag.</summary>
    private List<Stmt> ParseBlockBody(string endTag)
    {
        var body = ParseBody(new[] { endTag }, out _);
        ExpectBlockEnd();
        return body;
    }

    private Stmt ParseIf(int line, int column)
    {
        _ifDepth++;
        try
        {
            return ParseIfBranches(line, column);
        }
        finally
        {
            _ifDepth--;
        }
    }

    private Stmt ParseIfBranches(int line, int column)
    {
        var branches = new List<(Expr, List<Stmt>)>();
        List<Stmt>? elseBody = null;
        var test = ParseTuple(withCondExpr: false);
        ExpectBlockEnd();
        while (true)
        {
            var body = ParseBody(new[] { "elif", "else", "endif" }, out string tag);
            branches.Add((test, body));
            if (tag == "elif")
            {
                test = ParseTuple(withCondExpr: false);
                ExpectBlockEnd();
                continue;
            }
            ExpectBlockEnd();
            if (tag == "else") elseBody = ParseBlockBody("endif");
            return new IfStmt(line, column, branches, elseBody);
        }
    }

    private Stmt ParseFor(int line, int column)
    {
        var target = ParseAssignTarget(allowNamespace: false);
        if (!Current.IsName("in")) throw Error(Current, $"expected 'in', got {Describe(Current)}");
        _pos++;
        var iterable = ParseTuple(withCondExpr: false);
        Expr? filter = null;
        if (Current.IsName("if"))
        {
            _pos++;
            filter = ParseExpression();
        }
        if (Current.IsName("recursive")) throw Error(Current, "recursive loops are not supported");
        ExpectBlockEnd();
        _loopDepth++;
        int savedIfDepth = _ifDepth;
        _ifDepth = 0; // a loop body compiles in a fresh Jinja frame, which is not "soft" even inside an if
        var body = ParseBody(new[] { "else", "endfor" }, out string tag);
        _ifDepth = savedIfDepth;
        _loopDepth--;
        ExpectBlockEnd();
        List<Stmt>? elseBody = tag == "else" ? ParseBlockBody("endfor") : null;
        return new ForStmt(line, column, target, iterable, filter, body, elseBody);
    }

    private Stmt ParseSet(int line, int column)
    {
        var target = ParseAssignTarget(allowNamespace: true);
        if (Current.IsOperator("="))
        {
            _pos++;
            var value = ParseTuple(withCondExpr: true);
            ExpectBlockEnd();
            return new SetStmt(line, column, target, value);
        }
        var filters = ParseFilterChain(requireFirst: false);
        return new SetBlockStmt(line, column, target, filters, ParseBlockBody("endset"));
    }

    private AssignTarget ParseAssignTarget(bool allowNamespace)
    {
        var names = new List<string> { ExpectName() };
        if (allowNamespace && Current.IsOperator("."))
        {
            _pos++;
            return new AssignTarget(names, false, ExpectName());
        }
        bool isTuple = false;
        while (Current.IsOperator(","))
        {
            _pos++;
            isTuple = true;
            if (Current.Kind != TokenKind.Name || Current.IsName("in")) break;
            names.Add(ExpectName());
        }
        foreach (var n in names)
        {
            if (n is "true" or "false" or "none" or "True" or "False" or "None") throw Error(Current, $"cannot assign to '{n}'");
        }
        return new AssignTarget(names, isTuple, null);
    }

    private Stmt ParseMacro(int line, int column)
    {
        string name = ExpectName();
        ExpectOperator("(");
        var parameters = new List<string>();
        var defaults = new List<Expr?>();
        while (!Current.IsOperator(")"))
        {
            if (parameters.Count > 0) ExpectOperator(",");
            if (Current.IsOperator(")")) break;
            var at = Current;
            parameters.Add(ExpectName());
            if (Current.IsOperator("="))
            {
                _pos++;
                defaults.Add(ParseExpression());
            }
            else
            {
                if (defaults.Count > 0 && defaults[^1] is not null) throw Error(at, "non-default argument follows default argument");
                defaults.Add(null);
            }
        }
        _pos++;
        ExpectBlockEnd();
        int savedLoopDepth = _loopDepth, savedIfDepth = _ifDepth;
        _loopDepth = 0;
        _ifDepth = 0;
        var body = ParseBlockBody("endmacro");
        _loopDepth = savedLoopDepth;
        _ifDepth = savedIfDepth;
        return new MacroStmt(line, column, new MacroDefinition(name, parameters, defaults, body));
    }

    private Stmt ParseWith(int line, int column)
    {
        var assignments = new List<(AssignTarget, Expr)>();
        while (Current.Kind != TokenKind.BlockEnd)
        {
            if (assignments.Count > 0) ExpectOperator(",");
            var target = ParseAssignTarget(allowNamespace: false);
            ExpectOperator("=");
            assignments.Add((target, ParseExpression()));
        }
        ExpectBlockEnd();
        return new WithStmt(line, column, assignments, ParseBlockBody("endwith"));
    }

    /// <summary>`name(args) | name2` in filter blocks and `{% set x | f %}`; ends at the block end.</summary>
    private List<FilterExpr> ParseFilterChain(bool requireFirst)
    {
        var filters = new List<FilterExpr>();
        bool first = requireFirst;
        while (first || Current.IsOperator("|"))
        {
            if (!first) _pos++;
            first = false;
            filters.Add(ParseFilter(null));
        }
        ExpectBlockEnd();
        return filters;
    }
}
