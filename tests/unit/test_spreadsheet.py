from app.services.spreadsheet import spreadsheet_cell


def test_formulas_become_text_and_numbers_stay_numbers():
    assert spreadsheet_cell('=HYPERLINK("http://x","点我")') == '\'=HYPERLINK("http://x","点我")'
    assert spreadsheet_cell("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_cell("-3") == "-3" and spreadsheet_cell("+8613800138000") == "+8613800138000"
    assert spreadsheet_cell(None) == "" and spreadsheet_cell("北京街接报") == "北京街接报"
