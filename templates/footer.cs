</main>
<script src="/static/js/panel.js"></script>
</body>
</html>
