// 网上缴费: ask the server for signed JSAPI parameters, then open WeChat's cashier.
// Outside WeChat (the demo's phone) the fake pay server's cashier page stands in for it.
(function () {
  var button = document.getElementById("pay-button");
  var message = document.getElementById("pay-message");
  if (!button) { return; }
  function say(text) { message.textContent = text; message.hidden = false; button.disabled = false; }
  button.addEventListener("click", function () {
    button.disabled = true;
    fetch(button.dataset.prepay, {method: "POST", credentials: "same-origin",
                                  headers: {"X-CSRFToken": button.dataset.csrf}})
      .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (answer) {
        if (!answer.ok) { say(answer.body.message || "暂时无法支付，请稍后再试。"); return; }
        var params = answer.body;
        if (window.WeixinJSBridge) {
          window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function (res) {
            if (res.err_msg === "get_brand_wcpay_request:cancel") { say("您已取消支付，没有扣款。"); return; }
            window.location = button.dataset.result;
          });
        } else if (button.dataset.cashier) {
          var query = new URLSearchParams(params);
          query.set("return", button.dataset.result);
          window.location = button.dataset.cashier + "?" + query.toString();
        } else {
          say("请在微信中打开本页面完成支付。");
        }
      })
      .catch(function () { say("网络连接失败，没有扣款，请稍后再试。"); });
  });
})();
